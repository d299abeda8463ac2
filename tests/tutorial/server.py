# 树莓派 TCP 服务器（教程里的 Python 服务器）：
# 收到客户端发来的内容，就回复 "server rec: " 加上收到的内容；收到 quit 就结束。
#
# A copy of the Raspberry Pi tutorial's Python server, for the tests: it answers each recv()
# with f"server rec: {data}", the data exactly as received (no newline added), and stops
# after answering "quit". Unlike the tutorial, HOST and PORT may be given on the command line
# (the tests use 127.0.0.1 and port 0, any free port), and the port is printed.
import socket
import sys

HOST = ''      # 所有网卡
PORT = 8888    # 端口号

if len(sys.argv) > 2:
    HOST, PORT = sys.argv[1], int(sys.argv[2])

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((HOST, PORT))
s.listen(1)
print('服务器已启动，端口', s.getsockname()[1], flush=True)

conn, addr = s.accept()
print('连接来自', addr, flush=True)
while True:
    data = conn.recv(1024)
    if not data:
        break
    data = data.decode('utf-8')
    print('收到：', repr(data), flush=True)
    conn.send(f"server rec: {data}".encode('utf-8'))
    if data == 'quit':
        break
conn.close()
s.close()
