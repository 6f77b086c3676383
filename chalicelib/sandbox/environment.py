"""The process environment the sandbox runs in: fake AWS credentials and a region while it is
open, the machine's own AWS configuration out of reach, everything restored when it closes;
and the check that moto (a development dependency) is installed at all.

botocore signs every request with the credentials it finds and sends it where the
configuration says. moto answers requests before they leave the process, but only while it
is started; so besides faking the credentials (which are then worthless to anyone), the
sandbox hides the machine's profiles, credential files and custom endpoints, so that no
request could be signed for a real account or sent to a real endpoint by mistake.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib.config import ConfigurationError

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account

_FAKE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",  # the older name botocore still reads
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that would choose a profile, an endpoint or another way to get credentials.
_HIDDEN_PREFIXES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_",
                    "AWS_WEB_IDENTITY_", "AWS_CONTAINER_", "AWS_CA_BUNDLE")


def require_moto() -> None:
    """ConfigurationError, in one sentence, when moto is not installed."""
    if importlib.util.find_spec("moto") is None:
        raise ConfigurationError(
            "the aws-sandbox backend runs AWS in-process with moto, a development dependency:"
            " install it with `pip install -e '.[dev]'` (or `make setup`)"
        )


@contextmanager
def fake_aws_environment() -> Iterator[None]:
    """Fake credentials and the sandbox's region in os.environ; the previous values after."""
    saved = {name: value for name, value in os.environ.items()
             if name in _FAKE or name.startswith(_HIDDEN_PREFIXES)}
    for name in saved:
        del os.environ[name]
    os.environ.update(_FAKE)
    try:
        yield
    finally:
        for name in list(os.environ):
            if name in _FAKE or name.startswith(_HIDDEN_PREFIXES):
                del os.environ[name]
        os.environ.update(saved)
