"""SQLAlchemy models and session/engine setup."""

from models.agreement import AgreementStatus, AgreementVersion
from models.audit import AuditEntry
from models.base import Base
from models.catalogue import Topic, TopicQuestion
from models.engagement import Achievement, Certificate, Notification, OutgoingEmail
from models.idempotency import IdempotentResponse
from models.meeting import Attendance, Feedback, Meeting, MeetingMode, MeetingStatus
from models.mentorship import FINISHED_STAGES, OPEN_STAGES, Event, Mentorship, Stage
from models.program import ProgramSettings
from models.sign_in import SignIn
from models.survey import Fit, Survey, SurveyAnswer
from models.user import Profile, Role, User, UserRole

__all__ = [
    "FINISHED_STAGES",
    "OPEN_STAGES",
    "Achievement",
    "AgreementStatus",
    "AgreementVersion",
    "AuditEntry",
    "Attendance",
    "Base",
    "Certificate",
    "Event",
    "Feedback",
    "Fit",
    "IdempotentResponse",
    "Meeting",
    "MeetingMode",
    "MeetingStatus",
    "Mentorship",
    "Notification",
    "OutgoingEmail",
    "Profile",
    "ProgramSettings",
    "Role",
    "SignIn",
    "Stage",
    "Survey",
    "SurveyAnswer",
    "Topic",
    "TopicQuestion",
    "User",
    "UserRole",
]
