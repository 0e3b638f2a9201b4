from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from chat import api, ratelimit, views

# The admin's sign-in is throttled like the site's.
admin.site.login_form = ratelimit.ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/rename/", views.rename_conversation, name="rename_conversation"),
    path("c/<int:conversation_id>/delete/", views.delete_conversation, name="delete_conversation"),
    path("search/", views.search_conversations, name="search_conversations"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.sign_in, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/tokens/", views.api_tokens, name="api_tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.revoke_api_token, name="revoke_api_token"),
    path("api/chat", api.chat, name="api_chat"),
    path("api/messages/<int:message_id>/stream", api.stream, name="api_stream"),
    path("api/messages/<int:message_id>/stop", api.stop, name="api_stop"),
    path("admin/", admin.site.urls),
]
