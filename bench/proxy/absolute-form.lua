-- wrk speaks to a proxy: the request line carries the whole URL (absolute form), Host names the origin.
-- TARGET is the origin URL, e.g. http://127.0.0.1:8080/small.html
local target = os.getenv("TARGET")
local host = target:match("^http://([^/]+)")
wrk.path = target
wrk.headers["Host"] = host
