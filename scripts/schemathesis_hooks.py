"""Schemathesis hooks for scripts/fuzz.sh.

Idempotency-Key: a key reused with a different request is refused (422
IDEMPOTENCY_KEY_REUSED) by design, and generated keys repeat across generated requests (the
documented example, short strings). No schema can say "unique per request", so a valid
generated key is replaced by a fresh UUID; invalid ones are kept, so refusals of malformed
keys are still fuzzed.
"""

import re
import uuid

import schemathesis

# The server's rule, as in the document (crates/agora-server/src/openapi/params.rs).
VALID_KEY = re.compile(r'^(?:[!#-~](?:[ -~]{0,253}[!-~])?|"(?:[ !#-\[\]-~]|\\["\\]){1,255}")$')


@schemathesis.hook
def before_call(context, case, kwargs):
    # Every phase (examples, coverage, fuzzing, stateful) goes through here.
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and VALID_KEY.match(str(headers[name])):
            headers[name] = str(uuid.uuid4())
