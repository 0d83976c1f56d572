from fastapi import APIRouter, status

from api.deps import SessionDep, SettingsDep
from api.schemas import LoginIn, SignupIn, SignupOut, TokenOut
from vidpipe import users
from vidpipe.errors import Unauthorized
from vidpipe.security import create_access_token

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


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, session: SessionDep, settings: SettingsDep) -> TokenOut:
    user = users.authenticate(session, body.email, body.password)
    if user is None:
        raise Unauthorized("wrong email or password")
    return TokenOut(
        access_token=create_access_token(user.id, settings), expires_in=settings.jwt_ttl_seconds
    )
