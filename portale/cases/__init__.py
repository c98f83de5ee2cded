"""The filed procedure (the case), below filing and the back office: its model and events,
state and summary derived from them, the term rules of its type version and the holiday
calendar (:mod:`.terms`), routing, CUI and protocol numbers, requests and answers, acts.

``procedures`` (the company) and ``backoffice`` (clerks and authorities) import this area;
it imports neither.
"""
