#!/usr/bin/env python3
"""tests/fuzz/make-corpus.py: writes the fuzz targets' seed corpora and the JWT target's keys.

    python3 tests/fuzz/make-corpus.py          (needs the `cryptography` package)

Seeds are small real inputs in each target's input format (see the banner of each
tests/fuzz/fuzz_<target>.c) plus edge cases. The JWT target's keys are made fresh here: the
public halves go to tests/fuzz/keys/ (the harness verifies with them), the private halves sign
the seed tokens and are then dropped, so nothing secret is committed beyond the fuzz-only HS
secret. Running it again replaces every seed and key (the tokens change with the keys).
Crash inputs found later are added by hand as corpus/<target>/regress-*, which this script
keeps.
"""
import base64
import hashlib
import hmac
import json
import os
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")
CORPUS = os.path.join(HERE, "corpus")
WIRE_VERSION = 1
HS_SECRET = b"weft-fuzz-only-secret-0123456789abcdef"  # >= 32 bytes (edge_jwt.h)


def reset(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if not name.startswith("regress-"):
            os.remove(os.path.join(d, name))
    return d


def write(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frames(*parts):
    out = b""
    for p in parts:
        if isinstance(p, str):
            p = p.encode()
        out += struct.pack(">H", len(p)) + p
    return out


def header(kind=1, flags=0, session=0x1122334455667788, pub_seq=1, ts=1700000000000000000,
           epoch=0, seq=0, pub_id=b"agent-1", type_=b"chat.msg", key=b""):
    return (struct.pack(">BBBBBBBB", WIRE_VERSION, kind, flags, len(pub_id), len(type_), len(key),
                        0, 0)
            + struct.pack(">QQQQQ", session, pub_seq, ts, epoch, seq) + pub_id + type_ + key)


# --- proto: one client text frame ---------------------------------------------------------------
def proto():
    d = reset("proto")
    msgs = {
        "subscribe": '{"op":"subscribe","room":"chat:lobby","id":1}',
        "subscribe-since": '{"op":"subscribe","room":"chat:lobby","since":{"epoch":3,"seq":41},"id":"a"}',
        "subscribe-pattern": '{"op":"subscribe","room":"team:*","batch":false}',
        "subscribe-since-pattern": '{"op":"subscribe","room":"team:*","since":{"epoch":1,"seq":1}}',
        "subscribe-big-since": '{"op":"subscribe","room":"r","since":{"epoch":9007199254740993,"seq":-1}}',
        "unsubscribe": '{"op":"unsubscribe","room":"chat:lobby","id":2.5}',
        "ping": '{"op":"ping","id":"p1"}',
        "auth": '{"op":"auth","token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","id":7}',
        "auth-empty": '{"op":"auth","token":""}',
        "unknown-op": '{"op":"publish","room":"x"}',
        "op-nul": '{"op":"ping\\u0000x"}',
        "room-nul": '{"op":"subscribe","room":"a\\u0000b"}',
        "room-long": '{"op":"subscribe","room":"' + "r" * 200 + '"}',
        "room-128": '{"op":"subscribe","room":"' + "r" * 128 + '"}',
        "id-object": '{"op":"ping","id":{"a":1}}',
        "not-object": '[1,2,3]',
        "number": '42',
        "bad-json": '{"op":"subscribe",',
        "deep": "[" * 3000 + "]" * 3000,
        "dup-keys": '{"op":"ping","op":"subscribe","room":"r"}',
        "utf8": '{"op":"subscribe","room":"caf\u00e9"}',
        "empty": "",
    }
    for name, text in msgs.items():
        write(d, name, text)


# --- envelope: mode byte + frames ----------------------------------------------------------------
def envelope():
    d = reset("envelope")
    payload = b'{"text":"hello","n":1}'
    write(d, "event", b"\x00" + frames(b"chat:lobby ", header(), payload))
    write(d, "event-key-critical", b"\x00" + frames(b"room:1 ", header(flags=1, key=b"k:1"), payload))
    write(d, "heartbeat", b"\x00" + frames(b"$hb", header(kind=2, pub_seq=0, type_=b""), b"{}"))
    write(d, "head-from-agent", b"\x00" + frames(b"chat:lobby ", header(kind=3, type_=b""), b"{}"))
    write(d, "two-frames", b"\x00" + frames(b"chat:lobby ", header()))
    write(d, "four-frames", b"\x00" + frames(b"chat:lobby ", header(), payload, b"x"))
    write(d, "bad-topic", b"\x00" + frames(b"chat lobby", header(), payload))
    write(d, "bad-json", b"\x00" + frames(b"r ", header(), b'{"a":'))
    write(d, "array-payload", b"\x00" + frames(b"r ", header(), b"[1]"))
    write(d, "short-header", b"\x00" + frames(b"r ", header()[:40], payload))
    write(d, "trailing-header", b"\x00" + frames(b"r ", header() + b"x", payload))
    write(d, "session-zero", b"\x00" + frames(b"r ", header(session=0), payload))
    ack = bytes([ord("A"), WIRE_VERSION])
    for pid, sess, seq in ((b"agent-1", 5, 10), (b"pub.2", 7, 1)):
        ack += bytes([len(pid)]) + pid + struct.pack(">QQ", sess, seq)
    write(d, "ack", b"\x01" + frames(ack))
    write(d, "ack-empty", b"\x01" + frames(bytes([ord("A"), WIRE_VERSION])))
    write(d, "ack-truncated", b"\x01" + frames(ack[:-3]))
    write(d, "names", b"\x02" + frames(b"team:*", b"team:alpha"))
    write(d, "names-room", b"\x02" + frames(b"chat:lobby", b"chat:lobby"))
    write(d, "names-star", b"\x02" + frames(b"*", b"x"))
    write(d, "names-topic", b"\x02" + frames(b"room "))


# --- hist: mode byte + frames --------------------------------------------------------------------
def hist():
    d = reset("hist")
    rid = struct.pack(">Q", 77)
    cur = struct.pack(">QQI", 3, 10, 100)
    write(d, "request", b"\x00" + frames(rid, b"chat:lobby", cur))
    write(d, "request-bad-room", b"\x00" + frames(rid, b"bad room", cur))
    write(d, "request-short-cursor", b"\x00" + frames(rid, b"r", cur[:19]))
    write(d, "request-no-id", b"\x00" + frames(b"1234567", b"r", cur))
    write(d, "request-frames", b"\x00" + frames(rid, b"r"))
    after = struct.pack(">Q", 10)
    status = struct.pack(">BBQQQ", 0, 0, 3, 12, 1)
    ev = lambda s: header(epoch=3, seq=s, pub_seq=s)
    write(d, "reply-ok", b"\x01" + frames(after, status, ev(11), b'{"a":1}', ev(12), b'{"b":2}'))
    write(d, "reply-more", b"\x01" + frames(after, struct.pack(">BBQQQ", 0, 1, 3, 50, 1), ev(11), b"{}"))
    write(d, "reply-empty", b"\x01" + frames(after, status))
    write(d, "reply-epoch-changed", b"\x01" + frames(after, struct.pack(">BBQQQ", 1, 0, 4, 0, 1)))
    write(d, "reply-too-old", b"\x01" + frames(after, struct.pack(">BBQQQ", 2, 0, 3, 90, 50)))
    write(d, "reply-bad-request", b"\x01" + frames(after, struct.pack(">BBQQQ", 3, 0, 0, 0, 0)))
    write(d, "reply-seq-backwards", b"\x01" + frames(after, status, ev(12), b"{}", ev(11), b"{}"))
    write(d, "reply-odd", b"\x01" + frames(after, status, ev(11)))


# --- conf: selector byte + config file text --------------------------------------------------------
def conf():
    d = reset("conf")
    root = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(root, "edge", "weft-edge.conf.example"), "rb") as f:
        write(d, "edge-example", b"\x00" + f.read())
    with open(os.path.join(root, "router", "weft-router.conf.example"), "rb") as f:
        write(d, "router-example", b"\x01" + f.read())
    write(d, "edge-small", b"\x00port = 8080\nmax_message = 16k\nauth = none\n"
          b"anonymous_rooms = chat:*, global\nclasses = chat:*=fast\n# comment\n")
    write(d, "edge-jwt", b"\x00auth = jwt\njwt_secret_env = WEFT_SECRET\nautojoin = user:{sub},global\n")
    write(d, "edge-quoted", b'\x00edge_id = "edge-1"\nlog_level = DEBUG\nallowed_origins = https://a.example\n')
    write(d, "router-sizes", b"\x01max_payload = 64KiB\nhistory_bytes = 1g\n")
    write(d, "bad-line", b"\x00this is not a setting\n")
    write(d, "bad-number", b"\x01max_payload = 1e400\n")
    write(d, "long-line", b"\x00edge_id = " + b"a" * 5000 + b"\nport = 1\n")
    write(d, "nan", b"\x00port = nan\n")


# --- jwt: mode byte + token (or header\nclaims to sign) ---------------------------------------------
def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt(hdr, claims, sign):
    si = b64(json.dumps(hdr).encode()) + b"." + b64(json.dumps(claims).encode())
    return si + b"." + b64(sign(si))


def es_raw(priv, data):
    r, s = decode_dss_signature(priv.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def jwk_int(n):
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()


def keys_and_tokens():
    d = reset("jwt")
    os.makedirs(KEYS, exist_ok=True)  # the key files are overwritten; README stays
    with open(os.path.join(KEYS, "hs.secret"), "wb") as f:
        f.write(HS_SECRET + b"\n")
    rsa_priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_priv = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.PublicFormat.SubjectPublicKeyInfo
    for name, k in (("rsa.pem", rsa_priv), ("ec.pem", ec_priv)):
        with open(os.path.join(KEYS, name), "wb") as f:
            f.write(k.public_key().public_bytes(serialization.Encoding.PEM, pem))
    rn = rsa_priv.public_key().public_numbers()
    en = ec_priv.public_key().public_numbers()
    jwks = {"keys": [
        {"kty": "RSA", "kid": "r1", "alg": "RS256", "n": jwk_int(rn.n), "e": jwk_int(rn.e)},
        {"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(en.x.to_bytes(32, "big")).decode(),
         "y": b64(en.y.to_bytes(32, "big")).decode()},
    ]}
    with open(os.path.join(KEYS, "jwks.json"), "w") as f:
        json.dump(jwks, f, indent=1)
        f.write("\n")

    hs = lambda si: hmac.new(HS_SECRET, si, hashlib.sha256).digest()
    rs = lambda si: rsa_priv.sign(si, padding.PKCS1v15(), hashes.SHA256())
    ps = lambda si: rsa_priv.sign(si, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                 salt_length=32), hashes.SHA256())
    es = lambda si: es_raw(ec_priv, si)
    exp = 2000000000
    base = {"sub": "42", "exp": exp, "rooms": ["team:*", "project:7"], "iss": "weft-fuzz",
            "aud": "weft"}
    # Mode byte: & 3 = verifier (0 HS, 1 RSA PEM, 2 EC PEM, 3 JWKS), & 4 = harness signs.
    toks = {
        "hs-ok": (0, jwt({"alg": "HS256", "typ": "JWT"}, base, hs)),
        "hs-aud-list": (0, jwt({"alg": "HS256"}, dict(base, aud=["x", "weft"], nbf=1600000000), hs)),
        "hs-expired": (0, jwt({"alg": "HS256"}, dict(base, exp=1600000000), hs)),
        "hs-bad-iss": (0, jwt({"alg": "HS256"}, dict(base, iss="other"), hs)),
        "hs-alg-none": (0, b64(b'{"alg":"none"}') + b"." + b64(json.dumps(base).encode()) + b"."),
        "hs-bad-sig": (0, jwt({"alg": "HS256"}, base, lambda si: b"\x00" * 32)),
        "rs-ok": (1, jwt({"alg": "RS256", "typ": "JWT"},
                         {"sub": "u.1", "grants": ["lobby", "chat:*"]}, rs)),
        "ps-ok": (1, jwt({"alg": "PS256"}, {"sub": "u.2", "exp": exp, "grants": []}, ps)),
        "rs-as-hs": (1, jwt({"alg": "HS256"}, {"sub": "x", "exp": exp},
                            lambda si: hmac.new(open(os.path.join(KEYS, "rsa.pem"), "rb").read(),
                                                si, hashlib.sha256).digest())),
        "es-ok": (2, jwt({"alg": "ES256"}, {"sub": "e:1", "exp": exp, "rooms": ["*"]}, es)),
        "jwks-rs": (3, jwt({"alg": "RS256", "kid": "r1"}, {"sub": "k1", "exp": exp}, rs)),
        "jwks-es": (3, jwt({"alg": "ES256", "kid": "e1"}, {"sub": "k2", "exp": exp}, es)),
        "jwks-unknown-kid": (3, jwt({"alg": "RS256", "kid": "zz"}, {"sub": "k1", "exp": exp}, rs)),
        "garbage": (0, b"not.a.token"),
        "padding": (0, b"eyJhbGciOiJIUzI1NiJ9==.e30.AA"),
    }
    for name, (mode, tok) in toks.items():
        write(d, name, bytes([mode]) + tok)
    # Harness-signed (mode 4): header \n claims, or claims only.
    signed = {
        "sign-ok": b'{"alg":"HS256"}\n' + json.dumps(base).encode(),
        "sign-claims-only": json.dumps(base).encode(),
        "sign-big-exp": json.dumps(dict(base, exp=9223372036854775807)).encode(),
        "sign-float-exp": json.dumps(dict(base, exp=1.9e9)).encode(),
        "sign-user-rooms": json.dumps(dict(base, rooms=["user:*", "*", "user:43"])).encode(),
        "sign-long-sub": json.dumps(dict(base, sub="s" * 123)).encode(),
        "sign-bad-sub": json.dumps(dict(base, sub="a b")).encode(),
        "sign-dup": b'{"sub":"1","sub":"2","exp":2000000000,"iss":"weft-fuzz","aud":"weft"}',
        "sign-no-exp": json.dumps({"sub": "1", "iss": "weft-fuzz", "aud": "weft"}).encode(),
        "sign-many-rooms": json.dumps(dict(base, rooms=["r%d" % i for i in range(300)])).encode(),
    }
    for name, data in signed.items():
        write(d, name, b"\x04" + data)


if __name__ == "__main__":
    proto()
    envelope()
    hist()
    conf()
    keys_and_tokens()
