from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chat.web import api_tokens as tokens


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is stored only as a hash)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for")

    def handle(self, *args, username: str, name: str, **options) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}") from None
        _, token = tokens.create(user, name)
        self.stdout.write(token)
