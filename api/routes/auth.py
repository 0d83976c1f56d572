from fastapi import APIRouter, Request, Response, status

from api.deps import SESSION_COOKIE, CurrentUser, SessionDep, SettingsDep, request_token
from api.schemas import LoginIn, SessionOut, SignupIn, SignupOut, TokenOut, UserOut
from vidpipe import users
from vidpipe.db.models import User
from vidpipe.errors import Unauthorized
from vidpipe.security import create_access_token
from vidpipe.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/signup", status_code=status.HTTP_201_CREATED, response_model=SignupOut)
def signup(body: SignupIn, session: SessionDep) -> SignupOut:
    user = users.sign_up(
        session,
        first_name=body.first_name,
        last_name=body.last_name,
        email=str(body.email),
        password=body.password1,
        city=body.city,
        country=body.country,
    )
    return SignupOut(message="account created", id=user.id)


def _sign_in(body: LoginIn, session, settings: Settings) -> tuple[User, str]:
    user = users.authenticate(session, body.email, body.password)
    if user is None:
        raise Unauthorized("wrong email or password")
    return user, create_access_token(user.id, settings)


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, session: SessionDep, settings: SettingsDep) -> TokenOut:
    _, token = _sign_in(body, session, settings)
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


@router.post("/session", response_model=SessionOut)
def create_session(
    body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> SessionOut:
    """Sign in for the web app: the token is set as an HttpOnly cookie instead of returned."""
    user, token = _sign_in(body, session, settings)
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


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(request: Request) -> Response:
    """Sign out of the web app (always succeeds; with the cookie, X-CSRF: 1 is required)."""
    request_token(request)  # enforces the CSRF header when the cookie is sent
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        SESSION_COOKIE, path="/api", secure=_over_tls(request), httponly=True, samesite="strict"
    )
    return response


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return _user_out(user)
