from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from scenarios.models import Scenario


@login_required
def library(request):
    return render(request, "scenarios/library.html", {"scenarios": Scenario.objects.all()})
