# UDPPingerClient.py as a careful student writes it for the Kurose & Ross lab: 10 pings "Ping <sequence> <time>",
# each waiting at most <timeout> seconds; a reply carrying another sequence number (a late reply to an earlier
# ping) is reported as stale and the wait goes on. Prints "<sequence> reply <message> rtt <ms> ms",
# "<sequence> stale <message>" or "<sequence> timeout".
# Arguments: server port, timeout in seconds (the lab uses 1).
import sys
import time
from socket import AF_INET, SOCK_DGRAM, socket, timeout

port, wait = int(sys.argv[1]), float(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_DGRAM)
for sequence in range(1, 11):
    message = 'Ping %d %f' % (sequence, time.time())
    start = time.perf_counter()
    clientSocket.sendto(message.encode(), ('127.0.0.1', port))
    while True:
        left = wait - (time.perf_counter() - start)
        if left <= 0:
            print('%d timeout' % sequence, flush=True)
            break
        clientSocket.settimeout(left)
        try:
            reply, server = clientSocket.recvfrom(1024)
        except timeout:
            print('%d timeout' % sequence, flush=True)
            break
        text = reply.decode()
        if text.split()[1] != str(sequence):
            print('%d stale %s' % (sequence, text), flush=True)
            continue
        print('%d reply %s rtt %.3f ms' % (sequence, text, (time.perf_counter() - start) * 1000), flush=True)
        break
clientSocket.close()
