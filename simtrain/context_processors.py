from simtrain.permissions import is_course_admin


def roles(request) -> dict:
    """What the navigation needs to know about the logged-in user."""
    user = getattr(request, "user", None)
    return {"is_course_admin": bool(user and is_course_admin(user))}
