# 树莓派 TCP 客户端（教程里的 Python 客户端）：
# 把你输入的内容发给服务器，再把服务器的回复打印出来；输入 quit 结束。
#
# A copy of the Raspberry Pi tutorial's Python client, for the tests: it sends what input()
# returns (without a newline), prints what one recv() returns, and stops after "quit". Unlike
# the tutorial, HOST and PORT may be given on the command line.
import socket
import sys

HOST = '192.168.1.20'   # 树莓派的 IP 地址
PORT = 8888             # 端口号

if len(sys.argv) > 2:
    HOST, PORT = sys.argv[1], int(sys.argv[2])

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((HOST, PORT))
while True:
    msg = input('请输入：')
    s.send(msg.encode('utf-8'))
    data = s.recv(1024)
    print(data.decode('utf-8'))
    if msg == 'quit':
        break
s.close()
