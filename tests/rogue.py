#!/usr/bin/env python3
"""An intruder for tests/security.sh: races a run's agents at their listening ports, as any local
process could. For each agent port it opens, per claimed peer id, a connection that says hello
(current handshake) and answers with a proof under a wrong key, then sends forged SGP frames; one
connection that says hello and stays silent; and one that speaks the old 8-byte hello ("MSHT" + id)
followed by forged frames. Prints how many connections it made; keeps the silent ones open until
stdin closes. Usage: rogue.py AGENTS IP:PORT:ID...
"""
import os, socket, struct, sys, threading

AUTH_MAGIC, WIRE_MAGIC = 0x4148534D, 0x5448534D

def hello(frm, to):
    return struct.pack("<IHHII", AUTH_MAGIC, 1, 1, frm, to) + os.urandom(16)

def forged_frame(frm, to, rnd, seq):
    # an SGP push: mass 0.5, scale 1, weight 1, a zero vector (it would pull the model to 0)
    payload = struct.pack("<dff", 0.5, 1.0, 1.0) + bytes(64)
    hdr = struct.pack("<IHHIIQIHHII", WIRE_MAGIC, 2, 1, frm, to, rnd, seq, 0, 1, len(payload), 0) + os.urandom(16)
    return hdr + payload

def liar(ip, port, frm, to, log):
    try:
        s = socket.create_connection((ip, port), timeout=20)
        s.sendall(hello(frm, to))
        got = b""
        while len(got) < 48:
            b = s.recv(48 - len(got))
            if not b: break
            got += b
        s.sendall(os.urandom(32))   # a proof under a key it does not have
        for r in range(20): s.sendall(forged_frame(frm, to, r, r))
    except OSError as e:
        log.append(f"{port} as {frm}: {e}")

def main():
    n = int(sys.argv[1])
    targets = [(a.split(":")[0], int(a.split(":")[1]), int(a.split(":")[2])) for a in sys.argv[2:]]
    keep, threads, log = [], [], []
    for ip, port, me in targets:
        s = socket.create_connection((ip, port))   # silent: hello, then nothing
        s.sendall(hello((me + 1) % n, me)); keep.append(s)
        s = socket.create_connection((ip, port))   # the old hello and forged frames
        s.sendall(struct.pack("<II", WIRE_MAGIC, (me + 1) % n) + forged_frame((me + 1) % n, me, 0, 0)); keep.append(s)
        for frm in range(n):
            if frm != me:
                t = threading.Thread(target=liar, args=(ip, port, frm, me, log)); t.start(); threads.append(t)
    print(f"rogue: {len(keep) + len(threads)} connections to {len(targets)} agents", flush=True)
    for t in threads: t.join()
    for line in log: print("rogue:", line, flush=True)
    sys.stdin.read()

main()
