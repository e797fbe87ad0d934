"""Events of the service app that higher apps may react to (DESIGN: a lower app
never imports a higher one; the higher one subscribes here)."""

from django.dispatch import Signal

# Appointments turned arrived one by one (the front desk's "arrived" button, a
# repair order opened through ``repair_order_open``). Sent inside the
# transaction that changed them, with ``appointment_ids``, ``by`` (a user or
# None) and ``now``. Arrivals written in bulk (``appointments_link_repair_orders``)
# send nothing: receivers must also find them in their own periodic scan.
appointment_arrived = Signal()
