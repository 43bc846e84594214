"""Sign-in from the attacker's side: an unknown or disabled account is checked exactly like a
real one (one Argon2 verification against a decoy hash), so neither the answer nor the work
done tells whether an account exists."""

from cpflow.db import Database
from cpflow.teams import accounts


def test_unknown_and_disabled_accounts_cost_an_argon2_verification_and_fail(team, db_url):
    password = "correct horse battery staple"
    database = Database(db_url)
    try:
        accounts.set_password(database, "mo", password, by="admin")
        assert accounts.check_password(database, "mo", password)
        assert not accounts.check_password(database, "mo", "wrong password here")
        accounts._decoy_hash.cache_clear()
        assert not accounts.check_password(database, "no-such-person", password)
        assert accounts._decoy_hash.cache_info().misses == 1  # the decoy was made and verified against
        accounts.set_disabled(database, "mo", by="admin")
        assert not accounts.check_password(database, "mo", password)  # the right password, a disabled account
        assert accounts._decoy_hash.cache_info().hits == 1
    finally:
        database.dispose()
