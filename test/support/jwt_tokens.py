"""Signs the JWTs the auth tests send, with PyJWT (a library Ferry's code never sees).

Prints one JSON document: two JWKS documents (before and after a key rotation) and tokens that
are valid, expired, for the wrong audience, wrongly signed, unsigned (alg none), not yet valid, and
signed by the rotated-in key. Arguments: issuer audience.
"""
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

issuer, audience = sys.argv[1], sys.argv[2]
now = int(time.time())
k1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
k2 = ec.generate_private_key(ec.SECP256R1())
stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key, kid, alg, cls):
    d = json.loads(cls.to_jwk(key.public_key()))
    d.update({"kid": kid, "alg": alg, "use": "sig"})
    return d


def sign(claims, key, kid, alg="RS256"):
    body = {"iss": issuer, "aud": audience, "sub": "alice", "iat": now, "exp": now + 3600}
    body.update(claims)
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


jwks_before = {"keys": [jwk(k1, "k1", "RS256", RSAAlgorithm)]}
jwks_after = {"keys": [jwk(k1, "k1", "RS256", RSAAlgorithm), jwk(k2, "k2", "ES256", ECAlgorithm)]}
tokens = {
    "valid": sign({}, k1, "k1"),
    "expired": sign({"iat": now - 7200, "exp": now - 3600}, k1, "k1"),
    "within_skew": sign({"exp": now - 5}, k1, "k1"),
    "not_yet": sign({"nbf": now + 3600}, k1, "k1"),
    "wrong_aud": sign({"aud": "someone-else"}, k1, "k1"),
    "wrong_iss": sign({"iss": "https://evil.example"}, k1, "k1"),
    "wrong_sig": sign({}, stranger, "k1"),
    "none": jwt.encode({"iss": issuer, "aud": audience, "sub": "mallory", "exp": now + 3600}, None, algorithm="none", headers={"kid": "k1"}),
    "rotated": sign({"sub": "bob"}, k2, "k2", "ES256"),
    "unknown_kid": sign({}, k1, "k9"),
    "scoped": sign({"scope": "accounts:read other"}, k1, "k1"),
}
print(json.dumps({"jwks_before": jwks_before, "jwks_after": jwks_after, "tokens": tokens}))
