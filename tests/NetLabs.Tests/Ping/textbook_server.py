# UDPPingerServer.py as in Kurose & Ross, chapter 2 socket lab, with three changes so a test can drive it:
# it binds port 0 on loopback and writes the port to a file, it seeds its random drops (argument 2), and it
# serves a bounded number of datagrams (argument 3) with a receive timeout, so it always exits.
# It prints "dropped <sequence>" for each datagram it drops, so the test can compare with what our client saw.
import random
import sys
from socket import AF_INET, SOCK_DGRAM, socket

port_file, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(seed)
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', 0))
serverSocket.settimeout(10)
with open(port_file + '.tmp', 'w') as f:
    f.write(str(serverSocket.getsockname()[1]))
import os
os.replace(port_file + '.tmp', port_file)

for _ in range(count):
    # Generate random number in the range of 0 to 10
    rand = random.randint(0, 10)
    # Receive the client packet along with the address it is coming from
    message, address = serverSocket.recvfrom(1024)
    # Capitalize the message from the client
    message = message.upper()
    # If rand is less is than 4, we consider the packet lost and do not respond
    if rand < 4:
        print('dropped', message.split()[1].decode(), flush=True)
        continue
    # Otherwise, the server responds
    serverSocket.sendto(message, address)
