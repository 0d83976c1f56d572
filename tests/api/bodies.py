"""Request bodies shared by the API tests."""

# A valid sign-up (the contract's fields); tests change one field at a time.
SIGNUP = {
    "first_name": "Ana",
    "last_name": "Perez",
    "email": "ana@example.com",
    "password1": "long-enough",
    "password2": "long-enough",
    "city": "Bogota",
    "country": "CO",
}
