"""The engine's reasons in the reader's language: the engine answers with a stable code and its
arguments (`reason_code`, `reason_args`); each code has one sentence in the catalog here. A code
this portal does not know yet keeps the engine's own English words."""

from typing import Any

from portal.i18n import N_, _

REASONS = {
    "no_contract": N_("no contract is released for this institution; nothing can run"),
    "unknown_action": N_("%(action)s is not an action of your contract"),
    "wrong_department": N_("%(action)s belongs to the department %(department)s"),
    "department_inactive": N_("the department %(department)s is not active"),
    "role_may_not_propose": N_("a %(role)s may not propose %(action)s (allowed: %(allowed)s)"),
    "role_may_not_ask": N_("a %(role)s may not ask for %(action)s (allowed: %(allowed)s)"),
    "content_not_named": N_(
        "%(action)s changes files, so it must name the exact content it acts on; let the agent"
        " list the files first"
    ),
    "needs_approval": N_("%(action)s changes your files and needs the approval of %(approvers)s"),
    "allowed": N_("%(action)s only reads or restores, so it runs without approval"),
}
PARAM_PROBLEMS = {
    "nul_byte": N_("%(param)s contains a NUL byte"),
    "absolute_path": N_("%(param)s must be a path inside your folder, not an absolute one"),
    "dot_dot": N_("%(param)s must not contain '..' (it would leave your folder)"),
    "empty": N_("%(param)s must not be empty"),
    "root_path": N_("%(param)s names your whole folder, not a file"),
    "not_file_list": N_("%(param)s must be a list of files"),
    "file_count": N_("%(param)s must hold %(least)s to %(most)s files"),
    "file_keys": N_("%(param)s must name each file by path, sha256 and size"),
    "too_long": N_("%(param)s is longer than %(max)s characters"),
    "bad_sha256": N_("%(param)s must be 64 lowercase hex characters"),
    "bad_size": N_("%(param)s must be a whole number of bytes"),
    "named_twice": N_("%(param)s names %(path)s twice"),
    "not_boolean": N_("%(param)s must be true or false"),
    "not_integer": N_("%(param)s must be a whole number"),
    "too_small": N_("%(param)s must be at least %(min)s"),
    "too_large": N_("%(param)s must be at most %(max)s"),
    "not_string": N_("%(param)s must be text"),
    "not_bare_name": N_("%(param)s must be a file name without folders"),
    "not_object": N_("the parameters must be an object"),
    "undeclared": N_("%(param)s is not a parameter of this action"),
    "required": N_("%(param)s is required"),
}
# The contract's parameters, as a person says them (else the identifier).
PARAMS = {
    "path": N_("the path"),
    "destination": N_("the destination"),
    "new_name": N_("the new name"),
    "sha256": N_("the file's hash"),
    "files": N_("the set of files"),
    "min_size": N_("the minimum size"),
    "recursive": N_("the use of subfolders"),
    "quarantine_id": N_("the quarantined file's id"),
}
ROLES = {
    "owner": N_("owner"),
    "executive_admin": N_("assistant"),
    "auditor": N_("auditor"),
    "organizational_agent": N_("agent"),
}

# The contract's actions and their effects, as a person says them (the engine's identifiers
# stay in the rules, the ledger and the APIs).
ACTIONS = {
    "list_files": N_("list files"),
    "detect_duplicates": N_("find duplicates"),
    "suggest_cleanup": N_("suggest a cleanup"),
    "restore": N_("restore from the quarantine"),
    "rename": N_("rename"),
    "move": N_("move"),
    "delete": N_("delete"),
    "quarantine_files": N_("quarantine files"),
    "purge": N_("erase for good"),
}
EFFECTS = {"read": N_("reads"), "write": N_("writes"), "destructive": N_("destructive")}


def action_words(name: Any) -> str:
    """An action in the reader's language (its identifier when this portal does not know it)."""
    return _(ACTIONS[name]) if name in ACTIONS else str(name)


def action_label(name: Any) -> str:
    """An action as a sentence names it: its words quoted."""
    return _("“%(action)s”", action=action_words(name)) if name in ACTIONS else str(name)


def effect_label(name: Any) -> str:
    return _(EFFECTS[name]) if name in EFFECTS else str(name)


def role_label(name: Any) -> str:
    """A role in one word, in the reader's language."""
    return _(ROLES[name]) if name in ROLES else str(name)


def reason(code: Any, args: Any, fallback: str) -> str:
    """The sentence for an engine reason, or the engine's words when the code is unknown."""
    if not isinstance(args, dict):
        args = {}
    shown: dict[str, Any] = {k: v for k, v in args.items()}
    for key in ("allowed", "approvers"):
        if isinstance(shown.get(key), list):
            shown[key] = _(" or ").join(role_label(r) for r in shown[key])
    if "role" in shown:
        shown["role"] = role_label(shown["role"])
    if "action" in shown:
        shown["action"] = action_label(shown["action"])
    if shown.get("param") in PARAMS:
        shown["param"] = _(PARAMS[shown["param"]])
    template = None
    if isinstance(code, str) and code.startswith("param_"):
        template = PARAM_PROBLEMS.get(code.removeprefix("param_"))
    elif isinstance(code, str):
        template = REASONS.get(code)
    if template is None:
        return fallback
    try:
        return _(template, **shown)
    except (KeyError, TypeError, ValueError):  # arguments from an engine of another version
        return fallback


# Refusals a person meets, by their stable code (the console's and the engine's alike); codes
# not here keep their English words.
ERRORS = {
    "bad_email": N_("Enter a valid email address."),
    "bad_password": N_("The password needs 10 to 256 characters."),
    "email_taken": N_("An account with this email already exists."),
    "bad_credentials": N_("Wrong email or password."),
    "csrf": N_("This page is out of date; reload it and try again."),
    "not_signed_in": N_("Sign in first."),
    "not_onboarded": N_("Finish onboarding first."),
    "missing_reason": N_("Write a reason for rejecting it."),
    "bad_reason": N_("The reason is too long or not text."),
    "digest_mismatch": N_("The request changed since this page was shown; reload it."),
    "already_decided": N_("Someone already decided this request."),
    "approval_expired": N_("This request expired before anyone approved it."),
    "self_approval": N_("You asked for this, so someone else must approve it."),
    "role_cannot_approve": N_("Your role cannot approve this."),
    "owner_approval_required": N_("Only the owner can approve this."),
    "contract_changed": N_("The contract changed since this request; ask again."),
    "engine_unreachable": N_("The Engine cannot be reached right now; nothing changed. Try again."),
    "rate_limited": N_("Too many requests at once; wait a moment and try again."),
    "institution_unavailable": N_(
        "Your records cannot be reached right now; nothing changed. Try again in a minute."
    ),
    "storage_unavailable": N_(
        "Storage cannot be reached right now; nothing changed. Try again in a minute."
    ),
    "insufficient_storage": N_("The server's disk is full; nothing was written. Try again later."),
    "proposal_not_found": N_("There is no such request."),
}


def error_message(code: str, fallback: str) -> str:
    return _(ERRORS[code]) if code in ERRORS else fallback
