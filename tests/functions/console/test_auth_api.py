import httpx


def test_sign_up_then_login_and_logout(console, make_user):
    user = make_user().sign_up()
    assert user.get("/api/session").json()["user"]["email"] == user.email
    assert user.post("/api/logout").status_code == 200
    assert user.get("/api/session").json()["user"] is None
    again = make_user()
    again.email = user.email
    response = again.post("/api/login", {"email": user.email, "password": user.password})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_duplicate_email_and_bad_input(console, make_user):
    user = make_user().sign_up()
    other = make_user()
    taken = other.post("/api/signup", {"email": user.email, "password": "another password"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "email_taken"
    short = other.post("/api/signup", {"email": "x@example.org", "password": "short"})
    assert short.status_code == 400 and short.json()["error"]["code"] == "bad_password"
    bad_email = other.post("/api/signup", {"email": "not-an-email", "password": "long enough pw"})
    assert bad_email.status_code == 400


def test_csrf_is_required_on_state_changes(console, make_user):
    user = make_user()
    no_token = user.http.post(
        "/api/signup", json={"email": "a@example.org", "password": "long enough pw"}
    )
    assert no_token.status_code == 403 and no_token.json()["error"]["code"] == "csrf"
    cross_site = user.http.post(
        "/api/signup",
        json={"email": "a@example.org", "password": "long enough pw"},
        headers={"X-CSRF-Token": user.csrf, "Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403
    foreign = user.http.post(
        "/api/signup",
        json={"email": "a@example.org", "password": "long enough pw"},
        headers={"X-CSRF-Token": user.csrf, "Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403


def test_login_is_rate_limited(console, make_user):
    user = make_user().sign_up()
    attacker = make_user()
    codes = [
        attacker.post("/api/login", {"email": user.email, "password": f"wrong-{n}"}).status_code
        for n in range(6)
    ]
    assert codes[:5] == [401] * 5
    limited = attacker.post("/api/login", {"email": user.email, "password": user.password})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


def test_apis_need_a_session(console, make_user):
    response = httpx.get(f"{console}/api/dashboard")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_signed_in"
    page = httpx.get(f"{console}/dashboard")
    assert page.status_code == 303 and page.headers["location"] == "/login"


def copy_of(user):
    """Another client holding a copy of the user's cookie (copied before sign-out)."""
    thief = httpx.Client(
        base_url=str(user.http.base_url), headers={"Origin": user.http.headers["origin"]}
    )
    thief.cookies.update(user.http.cookies)
    return thief


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(console, make_user):
    user = make_user().sign_up()
    thief = copy_of(user)
    assert thief.get("/api/session").json()["user"]["email"] == user.email
    assert user.post("/api/logout").status_code == 200
    assert thief.get("/api/session").json()["user"] is None
    assert thief.get("/api/dashboard").status_code == 401
    thief.close()


def test_sign_out_everywhere_ends_every_session(console, make_user):
    user = make_user().sign_up()
    laptop = make_user()
    signed = laptop.post("/api/login", {"email": user.email, "password": user.password})
    assert signed.status_code == 200
    laptop.csrf = signed.json()["csrf_token"]
    thief = copy_of(laptop)
    ended = user.post("/api/logout-everywhere")
    assert ended.status_code == 200 and ended.json()["sessions_ended"] == 2
    for client in (user.http, laptop.http, thief):
        assert client.get("/api/session").json()["user"] is None
    thief.close()


def test_control_characters_are_refused_before_the_accounts_store(console, make_user):
    """PostgreSQL refuses a NUL in text: it must be a 400 (or a wrong credential), never the
    store's 503; the other control characters are no address either."""
    stranger = make_user()
    for email in ("a\x00@example.org", "a\x01\x7f@example.org", "a@exam\x00ple.org"):
        signup = stranger.post("/api/signup", {"email": email, "password": "long enough pw"})
        assert signup.status_code == 400 and signup.json()["error"]["code"] == "bad_email"
        forgot = stranger.post("/api/password/forgot", {"email": email})
        assert forgot.status_code == 400 and forgot.json()["error"]["code"] == "bad_email"
        login = stranger.post("/api/login", {"email": email, "password": "long enough pw"})
        assert login.status_code == 401 and login.json()["error"]["code"] == "bad_credentials"
    user = make_user().sign_up()
    for name in ("My\x00institution", "tab\tin name", "bell\x07"):
        named = user.post("/api/onboarding", {"name": name})
        assert named.status_code == 400 and named.json()["error"]["code"] == "bad_name"
    assert user.onboard("Ana's files — São Paulo")["institution"]["name"] == (
        "Ana's files — São Paulo"
    )
