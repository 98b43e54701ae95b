"""`python -m clientela_local.token` prints a token the local stack accepts."""

from __future__ import annotations

import pytest

from clientela import auth
from clientela_local.token import main


def test_prints_only_a_token_for_the_store(capsys):
    assert main(["--store", "s-1", "--scopes", "customers:read,credits:read", "--ttl", "60"]) == 0
    token = capsys.readouterr().out.strip()
    principal = auth.verify_token(token, auth.LOCAL_DEVELOPMENT_KEY)
    assert principal.store_id == "s-1"
    assert principal.scopes == {"customers:read", "credits:read"}


def test_every_scope_by_default(capsys):
    main(["--store", "s-1"])
    token = capsys.readouterr().out.strip()
    assert auth.verify_token(token, auth.LOCAL_DEVELOPMENT_KEY).scopes == set(auth.ALL_SCOPES)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--store", ""],
        ["--store", "  "],
        ["--store", "Not A Store"],
        ["--store", "s-1", "--scopes", "everything"],
        ["--store", "s-1", "--ttl", "0"],
    ],
)
def test_bad_arguments_exit_with_status_2_and_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err
