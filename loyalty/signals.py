"""What the club announces for care to act on (care sits above loyalty and
sends the messages). Sent inside the transaction of the change."""

from django.dispatch import Signal

# A card started (joined or upgraded): kwargs card, by, now.
card_started = Signal()
# A referral was rewarded: kwargs referral, now.
referral_rewarded = Signal()
# A manager invites customers to a club event by SMS: kwargs event, customer_ids (list), by, now.
# Care sends a marketing message to those with marketing consent and no opt-out.
club_event_invitations = Signal()
