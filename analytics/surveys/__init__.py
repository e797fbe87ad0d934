"""Surveys (issue 13): the after-service CSAT and NPS and the lapsed customers'
NPS, asked by an SMS link or on a call, and what their answers set off.

- ``services``: the daily invitations, answering a link, recording a call's
  answers, the detractor's follow-up and raising an answer as a complaint;
- ``selectors``: what the public page and the managers' page read;
- ``forms``: the customer's answer and the managers' filters.
"""
