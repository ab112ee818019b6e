"""Marketing's events: campaigns, engagement, surveys, NPS and consent."""

from domain.event_type import EventType, catalogue_of
from domain.fields import Choice, Flag, Id, Integer, Text

CAMPAIGN_CHANNELS = ("email", "ads", "event", "webinar", "social", "direct_mail", "in_app")
CAMPAIGN_INTENTS = ("acquisition", "nurture", "upsell", "retention", "supportive", "announcement")
ENGAGEMENT_ACTIONS = ("open", "click", "visit", "download", "attend", "reply", "form_submit")
SURVEY_KINDS = ("nps", "csat", "ces")
CONSENT_CHANNELS = ("email", "phone", "sms", "all")

TYPES = catalogue_of(
    EventType(
        "marketing.campaign.sent",
        {
            "campaignId": Id(required=True),
            "channel": Choice(required=True, options=CAMPAIGN_CHANNELS),
            "intent": Choice(required=True, options=CAMPAIGN_INTENTS),
            "name": Text(),
        },
    ),
    EventType(
        "marketing.engagement.recorded",
        {
            "campaignId": Id(required=True),
            "channel": Choice(required=True, options=CAMPAIGN_CHANNELS),
            "action": Choice(required=True, options=ENGAGEMENT_ACTIONS),
        },
    ),
    EventType(
        "marketing.survey.sent",
        {"surveyId": Id(required=True), "kind": Choice(required=True, options=SURVEY_KINDS)},
    ),
    EventType(
        "marketing.nps.responded",
        {"score": Integer(required=True, minimum=0, maximum=10), "surveyId": Id(), "comment": Text()},
    ),
    EventType(
        "marketing.consent.changed",
        {"channel": Choice(required=True, options=CONSENT_CHANNELS), "granted": Flag(required=True)},
    ),
)
