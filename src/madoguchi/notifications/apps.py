from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "madoguchi.notifications"
    label = "notifications"
    verbose_name = "Notifications"
