# Sourced by bench/<lab>.sh: what every benchmark script needs around its own measurements.
# WORK is a temp folder removed at exit; every pid added to PIDS is killed at exit (and file descriptor 4, a fifo that
# keeps a server's stdin open, is closed first so it can stop on its own).
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  exec 4>&- 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# Waits up to 15 s for something to listen on a loopback port.
wait_port() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; exit 1; }

HZ=$(getconf CLK_TCK)
# CPU clock ticks (user + system) used so far by the given processes, all their threads (ended ones too).
cpu_ticks() {
  for pid in "$@"; do cat /proc/"$pid"/stat; done 2>/dev/null | sed 's/.*) //' | awk '{t += $12 + $13} END {print t + 0}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

# nginx as a user would run it for a benchmark: in the foreground under $WORK/nginx (killed at exit), logs off.
# start_nginx WORKERS HTTP: HTTP is the rest of the http block (servers included). The pid is in NGINX_PID and PIDS.
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
start_nginx() {
  mkdir -p "$WORK/nginx/logs"
  cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes $1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
$2
}
CONF
  "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
}
