"""Words the portal shows for codes: stages, statuses, modes, notifications, achievements,
timeline events and what a page just did. Message ids only; pages translate them for the reader.

Placeholders are ``{name}`` (``services.i18n.translate``); a missing value shows as empty.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.i18n import _, translate

STAGES = {
    "requested": _("Requested"),
    "intro": _("Getting to know each other"),
    "active": _("Active"),
    "closing": _("Closing"),
    "completed": _("Completed"),
    "declined": _("Declined"),
    "withdrawn": _("Withdrawn"),
    "ended": _("Ended early"),
}

MEETING_STATUSES = {
    "proposed": _("Proposed"),
    "confirmed": _("Confirmed"),
    "declined": _("Declined"),
    "cancelled": _("Cancelled"),
    "held": _("Held"),
    "missed": _("Did not take place"),
}

AGREEMENT_STATUSES = {
    "draft": _("Draft"),
    "pending": _("Waiting for approval"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "superseded": _("Replaced by a newer version"),
}

MODES = {
    "in_person": _("In person"),
    "video": _("Video call"),
    "phone": _("Phone"),
    "email": _("Email"),
    "chat": _("Chat"),
}

NOTICES = {
    "request_received": _("{mentee_name} asks you to be their mentor."),
    "request_accepted": _("{mentor_name} accepted your request."),
    "request_declined": _("{mentor_name} declined your request."),
    "request_withdrawn": _("{mentee_name} withdrew their request."),
    "request_expired": _("A request between {mentee_name} and {mentor_name} expired."),
    "mentorship_ended": _("{other_name} ended your mentorship."),
    "agreement_submitted": _("{other_name} submitted agreement v{number} for your approval."),
    "agreement_approved": _("{other_name} approved agreement v{number}."),
    "agreement_rejected": _("{other_name} asked for changes to agreement v{number}."),
    "meeting_proposed": _("{other_name} proposed a meeting."),
    "meeting_confirmed": _("{other_name} confirmed your meeting."),
    "meeting_declined": _("{other_name} declined a meeting."),
    "meeting_cancelled": _("{other_name} cancelled a meeting."),
    "meeting_rescheduled": _("{other_name} moved a meeting."),
    "attendance_confirmed": _("{other_name} confirmed taking part in your meeting."),
    "attendance_denied": _("{other_name} said they did not take part in your meeting."),
    "feedback_request": _("How was your meeting with {other_name}? Give feedback."),
    "inactivity_feedback_request": _("How is your mentorship with {other_name} going? Give feedback."),
    "mentorship_completed": _("Your mentorship with {other_name} is complete."),
    "fit_request": _("Do you want to continue with {other_name}? Answer the fit question."),
    "closure_survey_request": _("Your mentorship with {other_name} is complete: answer the closure survey."),
    "certificate_issued": _("Your certificate of participation is ready."),
    "reminder_request": _("{mentee_name} is still waiting for your answer."),
    "reminder_agreement": _("Agreement v{number} still waits for your approval."),
    "reminder_meeting_proposed": _("A meeting proposed by {other_name} waits for your answer."),
    "reminder_meeting_tomorrow": _("Reminder: your meeting with {other_name} is coming up."),
    "reminder_attendance": _("Did your meeting with {other_name} take place? Confirm participation."),
}
OTHER_NOTICE = _("News about your mentorship with {other_name}.")

ACHIEVEMENTS = {
    "request_sent": _("Sent a mentorship request"),
    "request_accepted": _("Accepted a mentee"),
    "agreement_submitted": _("Submitted agreement v{number}"),
    "agreement_approved": _("Agreement v{number} approved"),
    "meeting_proposed": _("Proposed a meeting"),
    "meeting_held": _("Held a meeting"),
    "first_meeting_held": _("First meeting held"),
    "five_meetings_held": _("Five meetings held"),
    "feedback_given": _("Gave feedback"),
    "survey_answered": _("Answered a survey"),
    "mentorship_completed": _("Completed a mentorship"),
    "agreement_kept_to_plan": _("Kept to the agreed plan"),
    "certificate_issued": _("Received a certificate of participation"),
}
OTHER_ACHIEVEMENT = _("An achievement")

#: The profile's grouped achievements: a label for a count of each kind.
ACHIEVEMENT_GROUPS = {
    "request_sent": _("Mentorship requests sent"),
    "request_accepted": _("Mentees accepted"),
    "agreement_submitted": _("Agreement versions submitted"),
    "agreement_approved": _("Agreements approved"),
    "meeting_proposed": _("Meetings proposed"),
    "meeting_held": _("Meetings held"),
    "feedback_given": _("Feedback given"),
    "mentorship_completed": _("Mentorships completed"),
    "certificate_issued": _("Certificates of participation"),
    "first_meeting_held": _("First meeting held"),
    "five_meetings_held": _("Five meetings held"),
    "agreement_kept_to_plan": _("Kept to the agreed plan"),
}
OTHER_ACHIEVEMENT_GROUP = _("Other achievements")

EVENTS = {
    "mentorship.requested": _("{actor} sent the request."),
    "mentorship.accepted": _("{actor} accepted the request."),
    "mentorship.declined": _("{actor} declined the request."),
    "mentorship.withdrawn": _("{actor} withdrew the request."),
    "mentorship.ended": _("{actor} ended the mentorship."),
    "mentorship.expired": _("The request expired."),
    "agreement.draft_saved": _("{actor} saved a draft of agreement v{number}."),
    "agreement.submitted": _("{actor} submitted agreement v{number}."),
    "agreement.approved": _("{actor} approved agreement v{number}."),
    "agreement.rejected": _("{actor} asked for changes to agreement v{number}."),
    "meeting.proposed": _("{actor} proposed a meeting for {starts_at}."),
    "meeting.confirmed": _("{actor} confirmed the meeting on {starts_at}."),
    "meeting.declined": _("{actor} declined a meeting."),
    "meeting.cancelled": _("{actor} cancelled a meeting."),
    "meeting.rescheduled": _("{actor} moved a meeting to {starts_at}."),
    "meeting.attendance": _("{actor} confirmed taking part in a meeting."),
    "meeting.held": _("A meeting was held."),
    "meeting.missed": _("A meeting did not take place."),
    "feedback.given": _("{actor} gave feedback."),
    "survey.answered": _("{actor} answered a survey."),
    "stage.changed": _("The mentorship is now: {stage}."),
    "certificate.issued": _("A certificate of participation was issued."),
}
#: The same events when the reader did them: in the second person, as the rest of the portal
#: speaks to them ("You answered a survey.", not their own name).
OWN_EVENTS = {
    "mentorship.requested": _("You sent the request."),
    "mentorship.accepted": _("You accepted the request."),
    "mentorship.declined": _("You declined the request."),
    "mentorship.withdrawn": _("You withdrew the request."),
    "mentorship.ended": _("You ended the mentorship."),
    "agreement.draft_saved": _("You saved a draft of agreement v{number}."),
    "agreement.submitted": _("You submitted agreement v{number}."),
    "agreement.approved": _("You approved agreement v{number}."),
    "agreement.rejected": _("You asked for changes to agreement v{number}."),
    "meeting.proposed": _("You proposed a meeting for {starts_at}."),
    "meeting.confirmed": _("You confirmed the meeting on {starts_at}."),
    "meeting.declined": _("You declined a meeting."),
    "meeting.cancelled": _("You cancelled a meeting."),
    "meeting.rescheduled": _("You moved a meeting to {starts_at}."),
    "meeting.attendance": _("You confirmed taking part in a meeting."),
    "feedback.given": _("You gave feedback."),
    "survey.answered": _("You answered a survey."),
}
OWN_ABSENT = _("You said you did not take part in a meeting.")
ABSENT = _("{actor} said they did not take part in a meeting.")
OTHER_EVENT = _("Something happened.")

#: ``?done=…`` after a successful form: what the page confirms.
DONE = {
    "requested": _("Your request was sent."),
    "accepted": _("You accepted the request."),
    "declined": _("You declined the request."),
    "withdrawn": _("You withdrew your request."),
    "ended": _("You ended the mentorship."),
    "proposed": _("Your meeting proposal was sent."),
    "confirmed": _("You confirmed the meeting."),
    "meeting_declined": _("You declined the meeting."),
    "cancelled": _("You cancelled the meeting."),
    "rescheduled": _("You moved the meeting."),
    "attendance": _("Thank you, your answer was saved."),
    "feedback": _("Thank you, your feedback was saved."),
    "survey": _("Thank you, your answer was saved. Only you can see it."),
    "draft_saved": _("Your draft was saved."),
    "submitted": _("The agreement was submitted for approval."),
    "approved": _("You approved the agreement."),
    "rejected": _("You asked for changes to the agreement."),
    "read": _("Marked as read."),
    "all_read": _("Every notification is marked as read."),
    "password_changed": _("Your password was changed; you were signed out everywhere else."),
    "invited": _("The invitation is on its way: a mail with a link to choose a password."),
    "roles_set": _("The roles were saved."),
    "deactivated": _("The person was deactivated: every sign-in of theirs has ended."),
    "reactivated": _("The person was reactivated and can sign in again."),
    "reset_sent": _("The password was reset; a mail with a link to choose a new one is on its way."),
    "program_saved": _("The program's settings were saved."),
    "profile_saved": _("Your profile was saved."),
}

#: Why a mentorship ended early (``services.mentorships.END_REASONS``), in words.
END_REASONS = {
    "goals_reached": _("The goals were reached"),
    "no_time": _("No time"),
    "not_a_fit": _("Not a good fit"),
    "other": _("Another reason"),
}

#: The audit log's actions (``services.audit.Action``) in words.
AUDIT_ACTIONS = {
    "person.created": _("created the account"),
    "person.invited": _("invited"),
    "person.roles_set": _("set the roles"),
    "person.deactivated": _("deactivated"),
    "person.reactivated": _("reactivated"),
    "person.password_reset": _("reset the password"),
    "person.erased": _("erased the data"),
    "program.settings_changed": _("changed the program's settings"),
}


def say(message: str, language: str, /, **params: Any) -> str:
    """``message`` translated, its placeholders filled; a placeholder without a value stays empty."""
    values: defaultdict[str, Any] = defaultdict(str, params)
    return translate(message, language).format_map(values)


def label(words: dict[str, str], code: str, language: str) -> str:
    return translate(words[code], language) if code in words else code
