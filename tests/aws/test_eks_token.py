"""The EKS token of an IAM role (chalicelib/aws/eks_token.py): a presigned STS GetCallerIdentity
URL that signs the cluster's name, as `aws eks get-token` makes it; signed again when old."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import boto3

from chalicelib.aws.eks_token import REFRESH_AFTER, TOKEN_PREFIX, TokenSource, eks_token

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient


def sts_client() -> STSClient:
    return boto3.client("sts", region_name="eu-west-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", aws_session_token="testing")


def presigned_url(token: str) -> str:
    assert token.startswith(TOKEN_PREFIX) and "=" not in token
    encoded = token.removeprefix(TOKEN_PREFIX)
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


def test_the_token_is_a_presigned_get_caller_identity_that_signs_the_cluster_header() -> None:
    url = urlsplit(presigned_url(eks_token(sts_client(), "builds")))
    query = parse_qs(url.query)
    assert url.scheme == "https" and url.hostname is not None and url.hostname.startswith("sts.")
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Signature"][0]


def test_the_signing_hook_is_removed_so_other_calls_are_not_signed_for_a_cluster() -> None:
    sts = sts_client()
    eks_token(sts, "builds")
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60)
    assert "x-k8s-aws-id" not in parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0]


def test_a_token_is_reused_until_it_gets_old_then_signed_again() -> None:
    now = [0.0]
    signed: list[str] = []

    def sign() -> str:
        signed.append(f"token-{len(signed)}")
        return signed[-1]

    source = TokenSource(sign, clock=lambda: now[0])
    assert source.token() == source.token() == "token-0"
    now[0] = REFRESH_AFTER + 1
    assert source.token() == "token-1" and len(signed) == 2
