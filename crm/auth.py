"""Authentication backend: Django's, with the user's store loaded in the same query.

Every page's layout names the user's dealership; loading it with the user
(a join) saves that query on every request."""

from django.contrib.auth.backends import ModelBackend

from crm.models import User


class StoreModelBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("dealership").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
