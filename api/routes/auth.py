from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import (
    SESSION_COOKIE,
    ClientAddress,
    CurrentUser,
    SessionDep,
    SettingsDep,
    request_token,
)
from api.schemas import LoginIn, SessionOut, SignupIn, SignupOut, TokenOut, UserOut, error_responses
from vidpipe import users
from vidpipe.db.models import User
from vidpipe.security import create_access_token

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=SignupOut,
    responses=error_responses(400, 413, 429, 503),
)
def signup(body: SignupIn, session: SessionDep, address: ClientAddress) -> SignupOut:
    user = users.sign_up(
        session,
        first_name=body.first_name,
        last_name=body.last_name,
        email=str(body.email),
        password=body.password1,
        city=body.city,
        country=body.country,
        address=address,
    )
    return SignupOut(message="account created", id=user.id)


def _sign_in(request: Request, body: LoginIn, address: str) -> tuple[User, str]:
    """Check the credentials and issue a token, in one worker thread with one session (the
    password hash runs there too): one thread-pool hop per sign-in. Every step of a sign-in is
    one atomic statement, so the session runs without transactions: a successful sign-in is four
    round trips (throttle, account, count, forgive) instead of fourteen with BEGIN/COMMITs."""
    with request.app.state.autocommit_sessionmaker() as session:
        user = users.sign_in(session, body.email, body.password, address)
    return user, create_access_token(user.id, request.app.state.settings)


@router.post("/login", response_model=TokenOut, responses=error_responses(400, 401, 413, 429, 503))
async def login(
    body: LoginIn, request: Request, settings: SettingsDep, address: ClientAddress
) -> TokenOut:
    _, token = await run_in_threadpool(_sign_in, request, body, address)
    return TokenOut(access_token=token, expires_in=settings.jwt_ttl_seconds)


def _over_tls(request: Request) -> bool:
    # The cookie only gets stricter with Secure, so any https hint is enough here.
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or "https" in forwarded.lower()


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        city=user.city,
        country=user.country,
        is_operator=user.is_operator,
    )


@router.post(
    "/session", response_model=SessionOut, responses=error_responses(400, 401, 413, 429, 503)
)
async def create_session(
    body: LoginIn,
    request: Request,
    response: Response,
    settings: SettingsDep,
    address: ClientAddress,
) -> SessionOut:
    """Sign in for the web app: the token is set as an HttpOnly cookie instead of returned."""
    user, token = await run_in_threadpool(_sign_in, request, body, address)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.jwt_ttl_seconds,
        path="/api",
        secure=_over_tls(request),
        httponly=True,
        samesite="strict",
    )
    return SessionOut(user=_user_out(user))


@router.delete(
    "/session", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403)
)
async def delete_session(request: Request) -> Response:
    """Sign out of the web app (always succeeds; with the cookie, X-CSRF: 1 is required)."""
    request_token(request)  # enforces the CSRF header when the cookie is sent
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        SESSION_COOKIE, path="/api", secure=_over_tls(request), httponly=True, samesite="strict"
    )
    return response


@router.get("/me", response_model=UserOut, responses=error_responses(401, 503))
def me(user: CurrentUser) -> UserOut:
    return _user_out(user)
