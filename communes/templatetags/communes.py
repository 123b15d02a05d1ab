from django import template

from communes.cedula import cedula_mask

register = template.Library()


@register.filter
def cedula_masked(cedula: str) -> str:
    """A cédula shown on a page that does not need it whole: V-****5678."""
    return cedula_mask(cedula) if cedula else ""
