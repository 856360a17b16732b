"""DSSE interoperability with an independent implementation: securesystemslib.

Called by label/tests/interop.rs, never by hand:

  dsse_interop.py verify ENVELOPE_JSON PUBLIC_KEY_PEM KEYID
      securesystemslib verifies an envelope iotcert signed; prints the payload's
      SHA-256 and exits 0, or exits 1 when verification fails.
  dsse_interop.py sign PAYLOAD_FILE PAYLOAD_TYPE PRIVATE_KEY_PEM KEYID
      securesystemslib signs PAYLOAD_FILE (over the DSSE PAE) with an ECDSA P-256 key;
      prints the envelope as JSON.
"""

import hashlib
import json
import sys

from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

SCHEME = "ecdsa-sha2-nistp256"


def verify(envelope_path, public_key_path, keyid):
    with open(envelope_path, "rb") as handle:
        envelope = Envelope.from_dict(json.load(handle))
    with open(public_key_path, "rb") as handle:
        key = SSlibKey.from_crypto(load_pem_public_key(handle.read()), keyid, SCHEME)
    try:
        accepted = envelope.verify([key], 1)
    except VerificationError as error:
        print(f"securesystemslib rejected the envelope: {error}", file=sys.stderr)
        return 1
    assert keyid in accepted
    print(hashlib.sha256(envelope.payload).hexdigest())
    return 0


def sign(payload_path, payload_type, private_key_path, keyid):
    with open(payload_path, "rb") as handle:
        payload = handle.read()
    with open(private_key_path, "rb") as handle:
        private_key = load_pem_private_key(handle.read(), password=None)
    public_key = SSlibKey.from_crypto(private_key.public_key(), keyid, SCHEME)
    signer = CryptoSigner(private_key, public_key)
    envelope = Envelope(payload, payload_type, {})
    envelope.sign(signer)
    print(json.dumps(envelope.to_dict()))
    return 0


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    sys.exit({"verify": verify, "sign": sign}[command](*arguments))
