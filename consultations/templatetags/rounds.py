"""What the rounds app shows on other apps' pages. A commune's page (communes, a lower app) lists
the rounds it took part in through this tag: the page's template composes the two apps, so
communes' code never imports consultations."""

from django import template

from consultations.selectors import rounds_of_commune as _rounds_of_commune

register = template.Library()


@register.simple_tag
def rounds_of_commune(commune):
    return _rounds_of_commune(commune=commune)
