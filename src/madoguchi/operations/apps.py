from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "madoguchi.operations"
    label = "operations"

    def ready(self) -> None:
        # django-tasks' own signals (a library's extension point, not one of ours): a
        # worker holds a lock while it runs a task, which `tasks recover` looks for.
        from django_tasks.signals import task_finished, task_started

        from .task_recovery import hold_while_running, release_when_finished

        task_started.connect(hold_while_running, dispatch_uid="madoguchi.task_lock")
        task_finished.connect(release_when_finished, dispatch_uid="madoguchi.task_lock")
