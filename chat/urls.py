from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from chat.web import account, api, attachments, pages, presets, ratelimit

# The admin's sign-in is throttled like the site's.
admin.site.login_form = ratelimit.ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", pages.home, name="home"),
    path("c/<int:conversation_id>/", pages.conversation, name="conversation"),
    path("c/<int:conversation_id>/rename/", pages.rename_conversation, name="rename_conversation"),
    path("c/<int:conversation_id>/delete/", pages.delete_conversation, name="delete_conversation"),
    path("search/", pages.search_conversations, name="search_conversations"),
    path("signup/", pages.signup, name="signup"),
    path("login/", pages.sign_in, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/account/", account.account, name="account"),
    path("settings/account/export/", account.export_conversations, name="export_conversations"),
    path("settings/account/import/", account.import_conversations, name="import_conversations"),
    path("settings/tokens/", pages.api_tokens, name="api_tokens"),
    path("settings/tokens/<int:token_id>/revoke/", pages.revoke_api_token, name="revoke_api_token"),
    path("api/chat", api.chat, name="api_chat"),
    path(
        "api/conversations/<int:conversation_id>/settings",
        api.conversation_settings_view,
        name="api_conversation_settings",
    ),
    path("api/attachments", attachments.upload, name="api_attachments"),
    path("attachments/<int:attachment_id>/", attachments.file, name="attachment_file"),
    path("api/presets", presets.presets, name="api_presets"),
    path("api/presets/<int:preset_id>", presets.preset, name="api_preset"),
    path("api/messages/<int:message_id>/stream", api.stream, name="api_stream"),
    path("api/messages/<int:message_id>/stop", api.stop, name="api_stop"),
    path("api/messages/<int:message_id>/edit", api.edit, name="api_edit"),
    path("api/messages/<int:message_id>/fork", api.fork, name="api_fork"),
    path("admin/", admin.site.urls),
]
