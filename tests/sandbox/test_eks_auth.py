"""The harness's token check (chalicelib/sandbox/eks_auth.py): a token as `aws eks get-token` and
ContainerOps' launcher sign it is accepted for 15 minutes; anything the EKS authenticator would
refuse before asking STS is refused, saying why."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import pytest

from chalicelib.aws.eks_token import eks_token
from chalicelib.sandbox.eks_auth import token_problem


def signed_token() -> str:
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing", aws_session_token="testing")
    return eks_token(sts, "containerops")


def url_of(token: str) -> str:
    encoded = token.removeprefix("k8s-aws-v1.")
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


def token_of(url: str) -> str:
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def with_query(url: str, **changes: str | None) -> str:
    """The URL with query parameters replaced (None removes one)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        key = key.replace("_", "-")
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return parts._replace(query=urlencode(query)).geturl()


@pytest.fixture(scope="module")
def token() -> str:
    return signed_token()


def test_a_token_the_launcher_signed_is_accepted_now_and_for_fifteen_minutes(token: str) -> None:
    now = time.time()
    assert token_problem(f"Bearer {token}", now) is None
    assert token_problem(f"Bearer {token}", now + 14 * 60) is None
    assert token_problem(f"bearer {token}", now) is None


def test_a_token_signed_more_than_fifteen_minutes_ago_has_expired(token: str) -> None:
    problem = token_problem(f"Bearer {token}", time.time() + 16 * 60)
    assert problem is not None and "expired" in problem


def test_a_token_signed_in_the_future_is_refused(token: str) -> None:
    problem = token_problem(f"Bearer {token}", time.time() - 10 * 60)
    assert problem is not None and "future" in problem


@pytest.mark.parametrize(("header", "why"), [
    (None, "no Authorization header"),
    ("", "no Authorization header"),
    ("Basic dXNlcjpwYXNz", "not a bearer token"),
    ("Bearer ", "not a bearer token"),
    ("Bearer k8s-aws-v2.abc", "missing the 'k8s-aws-v1.' prefix"),
    ("Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8=", "padding"),
    ("Bearer k8s-aws-v1.//79", "not base64url of a URL"),
    ("Bearer k8s-aws-v1." + "A" * 5000, "too large"),
])
def test_a_header_that_is_not_an_eks_token_is_refused(header: str | None, why: str) -> None:
    problem = token_problem(header, time.time())
    assert problem is not None and why in problem


@pytest.mark.parametrize(("change", "why"), [
    (lambda url: url.replace("https://", "http://", 1), "unexpected scheme"),
    (lambda url: url.replace("sts.us-east-1.amazonaws.com", "sts.example.com", 1), "unexpected host"),
    (lambda url: url.replace(".com/?", ".com/x?", 1), "unexpected path"),
    (lambda url: with_query(url, Action="AssumeRole"), "not GetCallerIdentity"),
    (lambda url: with_query(url, Version="2020-01-01"), "not 2011-06-15"),
    (lambda url: with_query(url, X_Amz_SignedHeaders="host"), "did not sign the x-k8s-aws-id header"),
    (lambda url: with_query(url, X_Amz_Signature="abc"), "64 hexadecimal digits"),
    (lambda url: with_query(url, X_Amz_Expires="3600"), "invalid X-Amz-Expires"),
    (lambda url: with_query(url, X_Amz_Date="yesterday"), "is not like"),
    (lambda url: with_query(url, X_Amz_Credential="testing/19990101/us-east-1/sts/aws4_request"),
     "credential scope's date"),
    (lambda url: with_query(url, X_Amz_Credential="testing/us-east-1/sts"), "key/date/region/sts"),
    (lambda url: with_query(url, X_Amz_Algorithm=None), "lacks x-amz-algorithm"),
    (lambda url: with_query(url, Extra="1"), "'Extra' is not one of a presigned GetCallerIdentity"),
    (lambda url: url + "&Action=GetCallerIdentity", "given more than once"),
])
def test_a_presigned_url_eks_would_not_send_to_sts_is_refused(token: str, change, why: str) -> None:
    problem = token_problem(f"Bearer {token_of(change(url_of(token)))}", time.time())
    assert problem is not None and why in problem


def test_the_global_sts_endpoint_is_an_sts_host_too(token: str) -> None:
    url = url_of(token).replace("sts.us-east-1.amazonaws.com", "sts.amazonaws.com", 1)
    assert token_problem(f"Bearer {token_of(url)}", time.time()) is None
