"""What the voting app shows on other apps' pages. A resident's page (communes, a lower app) leads
to the vote open in their commune through this tag: the page's template composes the two apps, so
communes' code never imports voting."""

from django import template

from voting.selectors import votes_open_to as _votes_open_to

register = template.Library()


@register.simple_tag
def votes_open_to(resident):
    return _votes_open_to(resident=resident)
