"""Argument checks shared by every public constructor and method.

Each helper raises :class:`~ec2asr.errors.InvalidInputError` whose message names the parameter
and shows the bad value (shortened; never a :class:`~ec2asr.Secret`'s value), before anything is
read or written anywhere.

The Azure naming rules are ARM's, as Microsoft documents them:

- "Naming rules and restrictions for Azure resources"
  (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules):
  resource groups 1-90 characters (letters, digits, ``_ - . ( )``, not ending with a period);
  virtual networks 2-64 and subnets 1-80 characters (alphanumerics, ``_ . -``, starting with an
  alphanumeric, ending with an alphanumeric or ``_``); storage accounts 3-24 lowercase letters
  and digits; Recovery Services vaults 2-50 alphanumerics and hyphens, starting with a letter;
  virtual machines 1-15 (Windows) or 1-64 (Linux) characters, no spaces, control characters
  or punctuation but hyphens (the computer name's rule), not ending with ``-``; no ``#`` in any
  name.
- "Use tags to organize your Azure resources and management hierarchy"
  (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources): at most 50
  tag name/value pairs per resource, names up to 512 characters (128 on storage accounts) that
  cannot contain ``< > % & \\ ? /``, values up to 256 characters; names and values are strings.
- "Azure virtual machine sizes naming conventions"
  (https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions): a size is
  ``Standard_`` (or ``Basic_``) followed by family, vCPU count, features and version
  (``Standard_D4s_v5``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ec2asr.errors import InvalidInputError

__all__ = [
    "MAX_TAGS",
    "check_arm_id",
    "check_bool",
    "check_callable",
    "check_instance_id",
    "check_int",
    "check_number",
    "check_resource_group_name",
    "check_str",
    "check_subnet_name",
    "check_subscription_id",
    "check_tags",
    "check_type",
    "check_vault_name",
    "check_vm_name",
    "check_vm_size",
    "shown",
    "string_list",
]

T = TypeVar("T")

MAX_TAGS = 50
"""ARM's limit of tag name/value pairs per resource."""
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256
_TAG_NAME_FORBIDDEN = set("<>%&\\?/")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_VNET = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])$")
_SUBNET = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
_STORAGE = re.compile(r"^[a-z0-9]{3,24}$")
_VAULT = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,49}$")
_VM_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_VM_SIZE = re.compile(r"^(?:Standard|Basic)_[A-Z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$")
_INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")

_KINDS: dict[str, tuple[str, str, re.Pattern[str]]] = {
    "resource group": ("", "", _RESOURCE_GROUP),
    "virtual network": ("Microsoft.Network", "virtualNetworks", _VNET),
    "storage account": ("Microsoft.Storage", "storageAccounts", _STORAGE),
}
_NAME_RULES = {
    "resource group": "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'",
    "virtual network": (
        "2-64 alphanumerics, '_', '.' or '-', starting with an alphanumeric and ending with an "
        "alphanumeric or '_'"
    ),
    "storage account": "3-24 lowercase letters and digits",
}


def shown(value: object, *, limit: int = 80) -> str:
    """A short, safe rendering of a bad value for an error message: its ``repr`` (cut to
    ``limit`` characters) and, when that is not obvious, its type."""
    from ec2asr._secret import Secret

    if isinstance(value, Secret):
        return repr(value)  # masked by Secret itself
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if isinstance(value, (str, bool, int, float, type(None))):
        return text
    return f"{text} ({type(value).__name__})"


def check_type(name: str, value: T, types: type | tuple[type, ...], what: str) -> T:
    """``value`` must be an instance of ``types`` (``what`` describes them in the message)."""
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise InvalidInputError(f"{name} must be {what}, not {shown(value)}")
    if not isinstance(value, types):
        raise InvalidInputError(f"{name} must be {what}, not {shown(value)}")
    return value


def check_bool(name: str, value: object) -> bool:
    """``value`` must be ``True`` or ``False`` (not 1, not ``"yes"``)."""
    if value is not True and value is not False:
        raise InvalidInputError(f"{name} must be True or False, not {shown(value)}")
    return value


def check_int(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` must be an ``int`` (not a bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be a whole number, not {shown(value)}")
    _bounds(name, value, minimum, maximum)
    return value


def check_number(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> float:
    """``value`` must be a finite ``int`` or ``float`` (not a bool) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number, not {shown(value)}")
    if positive and value <= 0:
        raise InvalidInputError(f"{name} must be greater than 0, not {shown(value)}")
    _bounds(name, value, minimum, maximum)
    return float(value)


def _bounds(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{name} must be at least {minimum}, not {shown(value)}")
    if maximum is not None and value > maximum:
        raise InvalidInputError(f"{name} must be at most {maximum}, not {shown(value)}")


def check_str(name: str, value: object, *, empty: bool = False, optional: bool = False) -> str:
    """``value`` must be a string (non-blank unless ``empty``; None allowed when ``optional``)."""
    if value is None and optional:
        return value  # type: ignore[return-value]
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, not {shown(value)}")
    if not empty and not value.strip():
        raise InvalidInputError(f"{name} must not be empty, got {shown(value)}")
    return value


def check_callable(name: str, value: object, *, optional: bool = False) -> Any:
    """``value`` must be callable (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise InvalidInputError(f"{name} must be callable, not {shown(value)}")
    return value


def string_list(name: str, value: object, *, item: str = "string") -> tuple[str, ...]:
    """An iterable of non-empty strings (one string alone is refused: it is not a list)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{name} must be a list of {item}s, not {shown(value)}")
    if isinstance(value, Mapping):
        raise InvalidInputError(f"{name} must be a list of {item}s, not a mapping")
    out = tuple(value)
    for element in out:
        if not isinstance(element, str) or not element.strip():
            raise InvalidInputError(f"{name} holds {shown(element)}, which is not a {item}")
    return out


def _matching(name: str, value: object, pattern: re.Pattern[str], what: str) -> str:
    """``value`` when it is a string matching ``pattern``; else an error saying it must be
    ``what``."""
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidInputError(f"{name} must be {what}, not {shown(value)}")
    return value


def check_instance_id(name: str, value: object) -> str:
    """An EC2 instance id, ``i-`` and 8 or 17 lowercase hex digits."""
    return _matching(name, value, _INSTANCE_ID, "an EC2 instance id (i- and 8 or 17 hex digits)")


def check_subscription_id(name: str, value: object) -> str:
    """An Azure subscription id (a GUID)."""
    return _matching(
        name,
        value,
        _GUID,
        "an Azure subscription id (a GUID such as 00000000-0000-0000-0000-000000000000)",
    )


def check_resource_group_name(name: str, value: object) -> str:
    """A resource group name under ARM's rules."""
    what = f"a resource group name ({_NAME_RULES['resource group']})"
    return _matching(name, value, _RESOURCE_GROUP, what)


def check_vault_name(name: str, value: object) -> str:
    """A Recovery Services vault name: 2-50 alphanumerics and hyphens, starting with a letter."""
    what = (
        "a Recovery Services vault name (2-50 letters, digits and hyphens, starting with a letter)"
    )
    return _matching(name, value, _VAULT, what)


def check_arm_id(name: str, value: object, kind: str) -> str:
    """An ARM id of ``kind`` (``"resource group"``, ``"virtual network"``,
    ``"storage account"``): its subscription is a GUID and every name follows ARM's rules."""
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{name} must be an ARM {kind.replace(' ', '-')} id, not {shown(value)}"
        )
    namespace, collection, rule = _KINDS[kind]
    parts = value.split("/")
    if kind == "resource group":
        expected = "/subscriptions/<GUID>/resourceGroups/<name>"
        ok = len(parts) == 5 and parts[0] == ""
        ok = ok and parts[1].lower() == "subscriptions" and parts[3].lower() == "resourcegroups"
    else:
        expected = (
            f"/subscriptions/<GUID>/resourceGroups/<name>/providers/{namespace}/{collection}/<name>"
        )
        ok = len(parts) == 9 and parts[0] == ""
        ok = ok and [p.lower() for p in (parts[1], parts[3], parts[5], parts[6], parts[7])] == [
            "subscriptions",
            "resourcegroups",
            "providers",
            namespace.lower(),
            collection.lower(),
        ]
    if not ok:
        raise InvalidInputError(
            f"{name} must be an ARM {kind.replace(' ', '-')} id ({expected}), not {shown(value)}"
        )
    if not _GUID.match(parts[2]):
        raise InvalidInputError(
            f"{name}: the subscription in {shown(value)} is not a GUID ({parts[2]!r})"
        )
    if not _RESOURCE_GROUP.match(parts[4]):
        raise InvalidInputError(
            f"{name}: the resource group name {parts[4]!r} breaks ARM's rules "
            f"({_NAME_RULES['resource group']})"
        )
    if kind != "resource group" and not rule.match(parts[8]):
        raise InvalidInputError(
            f"{name}: the {kind} name {parts[8]!r} breaks ARM's rules ({_NAME_RULES[kind]})"
        )
    return value


def check_subnet_name(name: str, value: object) -> str:
    """A subnet name: 1-80 alphanumerics, ``_ . -``; starts alphanumeric, ends alphanumeric or
    ``_`` (so no ``/``, no spaces)."""
    if not isinstance(value, str) or not _SUBNET.match(value):
        raise InvalidInputError(
            f"{name} must be a subnet name (1-80 letters, digits, '_', '.' or '-', starting "
            f"with a letter or digit and ending with a letter, digit or '_'), not {shown(value)}"
        )
    return value


def check_vm_name(name: str, value: object, *, windows: bool | None = None) -> str:
    """An Azure VM name ec2asr can use as the VM's resource and computer name: letters, digits
    and hyphens, not starting or ending with a hyphen, 1-64 characters (1-15 and not only
    digits for Windows when ``windows``). ARM's resource-name rule is wider; the computer name
    (which ASR derives from it) is what narrows it to this."""
    limit = 15 if windows else 64
    if (
        not isinstance(value, str)
        or not _VM_NAME.match(value)
        or len(value) > limit
        or (windows and value.isdigit())
    ):
        rule = f"1-{limit} letters, digits and hyphens, not starting or ending with a hyphen"
        if windows:
            rule += ", not only digits"
        raise InvalidInputError(f"{name} must be an Azure VM name ({rule}), not {shown(value)}")
    return value


def check_vm_size(name: str, value: object, known: Callable[[str], str | None]) -> str:
    """An Azure VM size name. ``known(size)`` returns None when the packaged size table has no
    objection, or why it refuses the size (a series it lists without this size)."""
    size = _matching(name, value, _VM_SIZE, "an Azure VM size name such as 'Standard_D4s_v5'")
    problem = known(size)
    if problem:
        raise InvalidInputError(f"{name}: {problem}")
    return size


def check_tags(name: str, value: object, *, reserved: Iterable[str] = ()) -> Mapping[str, str]:
    """Azure tags: a mapping of at most 50 pairs (minus ``reserved`` names ec2asr adds), names
    1-512 characters without ``< > % & \\ ? /``, values strings of at most 256 characters."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{name} must be a mapping of tag names to values, not {shown(value)}"
        )
    extra = [r for r in reserved if r not in value]
    limit = MAX_TAGS - len(extra)
    if len(value) > limit:
        also = f" (ec2asr adds {', '.join(extra)})" if extra else ""
        raise InvalidInputError(
            f"{name} holds {len(value)} tags: Azure allows {MAX_TAGS} per resource{also}, so at "
            f"most {limit} may be given"
        )
    for key, text in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidInputError(f"{name} holds a tag name that is not a string: {shown(key)}")
        if len(key) > MAX_TAG_NAME:
            raise InvalidInputError(
                f"{name}: tag name {shown(key)} is longer than {MAX_TAG_NAME} characters"
            )
        bad = sorted(set(key) & _TAG_NAME_FORBIDDEN)
        if bad:
            raise InvalidInputError(
                f"{name}: tag name {shown(key)} contains {' '.join(bad)}; Azure tag names cannot "
                "contain < > % & \\ ? /"
            )
        if not isinstance(text, str):
            raise InvalidInputError(
                f"{name}[{key!r}] must be a string (Azure tag values are strings), "
                f"not {shown(text)}"
            )
        if len(text) > MAX_TAG_VALUE:
            raise InvalidInputError(
                f"{name}[{key!r}] is longer than {MAX_TAG_VALUE} characters ({len(text)})"
            )
    return value
