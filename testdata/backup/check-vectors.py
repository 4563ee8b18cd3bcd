#!/usr/bin/env python3
# An independent reimplementation of backup format v1 (docs/backup-format.md)
# in Python (hashlib, hmac, pyca/cryptography), written from the document
# alone: it recomputes every byte of vectors-v1.txt up to the SEAL frame.
# Run from the repository root: python3 testdata/backup/check-vectors.py
# (needs Debian's python3-cryptography).
import hashlib, hmac, re, sys
from cryptography.hazmat.primitives.keywrap import aes_key_wrap, aes_key_wrap_with_padding, aes_key_unwrap_with_padding
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives import hashes
txt = open('testdata/backup/vectors-v1.txt').read()
v = {}; cur = None
for line in txt.splitlines():
    if line.startswith('#'): continue
    if line.startswith('  '): v[cur] += line.strip()
    else: cur = line[:-1]; v[cur] = ''
v = {k: bytes.fromhex(h) for k, h in v.items()}
mkbk, akbk = bytes(range(32)), bytes(range(32, 64))
pbk = hmac.new(mkbk + akbk, b'\0\0\0\1' + b'coffer persistent backup key v1' + b'\0' + b'vector-mfr' + b'\0\0\1\0', hashlib.sha256).digest()
ebk = bytes(range(0xa0, 0xc0))
assert pbk == v['PBK = HMAC-SHA256(MKBK || AKBK, PRF input)']
assert aes_key_wrap(pbk, ebk) == v['wrapped EBK = AES-KW(PBK, EBK)']
stream = v['preamble || HEADER frame']
assert stream[:10] == b'COFFERBK\0\1' and stream[10] == 1
n = 0
for i in range(1, 5):
    pt = [val for k, val in v.items() if k.startswith(f'record {i} ') and k.endswith('plaintext')][0]
    fr = [val for k, val in v.items() if k.startswith(f'record {i} ') and k.endswith('RECORD frame')][0]
    body = aes_key_wrap_with_padding(ebk, pt)
    assert fr == bytes([2]) + len(body).to_bytes(4, 'big') + body, i
    stream += fr; n += 1
d = hashlib.sha384(stream).digest()
assert d == v['seal digest = SHA-384(preamble .. last RECORD frame)']
sp = n.to_bytes(8, 'big') + d
assert sp == v['seal plaintext = [record count]_64 || seal digest']
sb = aes_key_wrap_with_padding(ebk, sp)
seal = bytes([3]) + len(sb).to_bytes(4, 'big') + sb
assert seal == v['SEAL frame']
stream += seal
assert hashlib.sha384(stream).digest() == v['signature digest = SHA-384(preamble .. SEAL frame)']
print('independent check OK:', len(stream), 'bytes up to the SEAL frame')
