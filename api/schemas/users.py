"""Users, profiles, the mentor directory, topics, achievements, notifications, activity."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, EmailStr, Field

from api.schemas.common import Input, Output, TopicName
from models import Role, User
from services import achievements, users

Topics = list[str]


class UserCreate(Input):
    email: EmailStr
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field(min_length=1, max_length=120)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))


class MenteeProfile(Output):
    goals: str = ""
    topics: Topics = []


class MentorProfile(Output):
    offer: str = ""
    topics: Topics = []
    capacity: int = 0


class ProfileRead(Output):
    bio: str
    mentee: MenteeProfile | None
    mentor: MentorProfile | None


class UserRead(Output):
    id: int
    email: str
    display_name: str
    roles: list[Role]
    locale: str
    timezone: str
    profile: ProfileRead
    deactivated_at: datetime | None = None

    @classmethod
    def of(cls, user: User) -> UserRead:
        p = user.profile
        roles = sorted(Role(r) for r in user.role_names)
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            roles=roles,
            locale=user.locale,
            timezone=user.timezone,
            deactivated_at=user.deactivated_at,
            profile=ProfileRead(
                bio=p.bio,
                mentee=MenteeProfile(goals=p.mentee_goals, topics=p.mentee_topics)
                if Role.MENTEE in roles
                else None,
                mentor=MentorProfile(offer=p.mentor_offer, topics=p.mentor_topics, capacity=p.mentor_capacity)
                if Role.MENTOR in roles
                else None,
            ),
        )


class MenteeProfileUpdate(Input):
    goals: str | None = Field(default=None, max_length=4000)
    topics: list[TopicName] | None = Field(default=None, max_length=30)


class MentorProfileUpdate(Input):
    offer: str | None = Field(default=None, max_length=4000)
    topics: list[TopicName] | None = Field(default=None, max_length=30)
    capacity: int | None = Field(default=None, ge=0, le=50)


class ProfileUpdate(Input):
    bio: str | None = Field(default=None, max_length=4000)
    locale: str | None = Field(
        default=None, max_length=10, description='"en", "de", or "" to follow the browser (mails: English)'
    )
    timezone: str | None = Field(default=None, max_length=60, description='IANA, e.g. "Europe/Berlin"')
    mentee: MenteeProfileUpdate | None = None
    mentor: MentorProfileUpdate | None = None

    def change(self) -> users.ProfileUpdate:
        """What the services change: only what was sent."""
        return users.ProfileUpdate(
            bio=self.bio,
            locale=self.locale,
            timezone=self.timezone,
            mentee_goals=self.mentee.goals if self.mentee else None,
            mentee_topics=self.mentee.topics if self.mentee else None,
            mentor_offer=self.mentor.offer if self.mentor else None,
            mentor_topics=self.mentor.topics if self.mentor else None,
            mentor_capacity=self.mentor.capacity if self.mentor else None,
        )


class MentorRead(Output):
    id: int
    display_name: str
    bio: str
    offer: str
    topics: Topics
    capacity: int
    free_capacity: int


class TopicRead(Output):
    slug: str
    title: str
    description: str
    questions: list[str]
    matches: list[Literal["mentee_topics", "mentor_topics", "mentee_goals", "mentor_offer"]] = Field(
        default_factory=list,
        description="With `mentorship_id`: why the topic fits that pair (empty: it does not).",
    )


class AchievementRead(Output):
    id: int
    kind: str
    mentorship_id: int | None
    params: dict[str, Any]
    earned_at: datetime


class AchievementGroupRead(Output):
    kind: str
    count: int = Field(description="How often earned; a milestone: in how many mentorships (0: not yet).")
    first_earned_at: datetime | None
    last_earned_at: datetime | None


class AchievementSummaryRead(Output):
    total: int
    milestones: list[AchievementGroupRead] = Field(
        description="Every milestone (first meeting, five meetings, agreement kept to plan), reached or not."
    )
    activities: list[AchievementGroupRead] = Field(description="Activity kinds done at least once.")

    @classmethod
    def of(cls, found: achievements.Summary) -> AchievementSummaryRead:
        def group(g: achievements.Group) -> AchievementGroupRead:
            return AchievementGroupRead(
                kind=g.kind, count=g.count, first_earned_at=g.first_earned_at, last_earned_at=g.last_earned_at
            )

        return cls(
            total=found.total,
            milestones=[group(g) for g in found.milestones],
            activities=[group(g) for g in found.activities],
        )


class NotificationRead(Output):
    id: int
    kind: str
    mentorship_id: int | None
    params: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class EventRead(Output):
    mentorship_id: int
    seq: int
    type: str
    actor_id: int | None
    payload: dict[str, Any]
    occurred_at: datetime


class PasswordChange(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)  # a space counts

    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


class ErasureRequest(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    password: str = Field(max_length=200)


class PasswordForgotten(Input):
    email: str = Field(min_length=1, max_length=320)


class PasswordSet(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    token: str = Field(max_length=300)
    password: str = Field(max_length=200)


class Accepted(Output):
    detail: str


class Invitation(Input):
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=120)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))


class ReadAll(Output):
    marked_read: int  # how many were new


class TokenRead(Output):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class CertificateRead(Output):
    id: int
    mentorship_id: int
    role: str
    issued_at: datetime
    verification_code: str
