"""Analytics' answer to the customers app's erasure hook (connected on import,
from ``AnalyticsConfig.ready``): a survey answer's comment is the customer's
own words and is blanked; the scores stay, the CSAT and NPS figures count them."""

from django.dispatch import receiver

from analytics.models import SurveyResponse
from customers.privacy import customer_erasing


@receiver(customer_erasing, dispatch_uid="analytics-erase-comments")
def comments_erase(sender, *, customer_ids, by, **kwargs) -> dict[str, int]:
    return {
        "analytics.SurveyResponse": SurveyResponse.objects.filter(customer_id__in=customer_ids)
        .exclude(comment="")
        .update(comment="")
    }
