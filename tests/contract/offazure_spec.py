"""The Microsoft.OffAzure definitions ec2asr reads (no SDK exists: encoded from the spec).

Source: Azure/azure-rest-api-specs,
``specification/migrate/resource-manager/Microsoft.OffAzure/stable/2023-06-06/migrate.json``
(commit 00f4df031de4d9ab94c9b62592c04dd3337b13b3 in the search tool's index): the paths
``.../serverSites/{siteName}``, ``.../machines``, ``.../machines/{machineName}``,
``.../runAsAccounts`` and ``.../runAsAccounts/{accountName}``, and the definitions
``ServerSiteResource``, ``SitesProperties``, ``SiteSpnProperties``, ``SiteAgentProperties``,
``Server``, ``ServerProperties``, ``ServerNetworkAdapter``, ``ServerDisk``, ``OperatingSystem``,
``GuestOsDetails``, ``ProcessorInfo``, ``HealthErrorDetails``, ``ServerListResult``,
``ServerRunAsAccount``, ``RunAsAccountProperties``, ``ServerRunAsAccountListResult`` and
``ProvisioningState``; ``ProxyResource``/``TrackedResource``/``systemData`` from
``specification/common-types/resource-management/v5/types.json``. Property names, types,
``readOnly`` and ``required`` are copied as the spec writes them; the discovery sub-objects the
emulator never sends (``applicationDiscovery`` ... ``appsAndRoles``, ``productSupportStatus``)
are typed free-form. See ``README.md`` for what the spec says that is odd (``maxSizeInBytes``
is an int32).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .schema import Any_, Arr, Enum_, Kind, Map, Obj, ObjectSchema, Prim, Prop

__all__ = ["API_VERSION", "OPERATIONS", "OffAzureOperation", "find_offazure"]

API_VERSION = "2023-06-06"

STR, INT, NUM, BOOL, TIME = (
    Prim("string"),
    Prim("integer"),
    Prim("number"),
    Prim("boolean"),
    Prim("date-time"),
)


def _ro(kind: Kind, *, required: bool = False) -> Prop:
    return Prop(kind, required=required, readonly=True)


def _rw(kind: Kind, *, required: bool = False) -> Prop:
    return Prop(kind, required=required)


@dataclass(frozen=True)
class SpecObject:
    """A definition of the OffAzure spec."""

    name: str
    properties: dict[str, Prop] = field(hash=False)

    def props(self) -> Mapping[str, Prop]:
        return self.properties

    def resolve(self, raw: Mapping[str, Any]) -> tuple[ObjectSchema, str | None]:
        return self, None


_DEFS: dict[str, SpecObject] = {}


def _ref(name: str) -> Obj:
    return Obj(lambda: _DEFS[name], name)


def _define(name: str, props: dict[str, Prop]) -> None:
    _DEFS[name] = SpecObject(name, props)


PROVISIONING_STATE = Enum_(
    "ProvisioningState",
    frozenset({"Created", "Updated", "Running", "Completed", "Failed", "Succeeded", "Canceled"}),
)
_IDENTITY_TYPE = Enum_(
    "createdByType", frozenset({"User", "Application", "ManagedIdentity", "Key"})
)

_define(
    "systemData",
    {
        "createdBy": _rw(STR),
        "createdByType": _rw(_IDENTITY_TYPE),
        "createdAt": _rw(TIME),
        "lastModifiedBy": _rw(STR),
        "lastModifiedByType": _rw(_IDENTITY_TYPE),
        "lastModifiedAt": _rw(TIME),
    },
)
_PROXY = {
    "id": _ro(STR),
    "name": _ro(STR),
    "type": _ro(STR),
    "systemData": _ro(_ref("systemData")),
}
_TRACKED = {**_PROXY, "tags": _rw(Map(STR)), "location": _rw(STR, required=True)}

_define(
    "SiteSpnProperties",
    {
        k: _rw(STR)
        for k in (
            "tenantId",
            "applicationId",
            "objectId",
            "audience",
            "aadAuthority",
            "rawCertData",
        )
    },
)
_define(
    "SiteAgentProperties",
    {
        "id": _ro(STR),
        "version": _ro(STR),
        "lastHeartBeatUtc": _ro(TIME),
        "keyVaultUri": _rw(STR),
        "keyVaultId": _rw(STR),
    },
)
_define(
    "SitesProperties",
    {
        "masterSiteId": _ro(STR),
        "servicePrincipalIdentityDetails": _rw(_ref("SiteSpnProperties")),
        "agentDetails": _rw(_ref("SiteAgentProperties")),
        "applianceName": _rw(STR),
        "discoverySolutionId": _rw(STR),
        "serviceEndpoint": _ro(STR),
        "provisioningState": _ro(PROVISIONING_STATE),
    },
)
_define("ServerSiteResource", {**_TRACKED, "properties": _rw(_ref("SitesProperties"))})

_OS = {"osType": _rw(STR), "osName": _rw(STR), "osVersion": _rw(STR), "osArchitecture": _rw(STR)}
_define("OperatingSystem", dict(_OS))
_define("GuestOsDetails", dict(_OS))
_define(
    "ProcessorInfo",
    {"name": _rw(STR), "numberOfSockets": _rw(INT), "numberOfCoresPerSocket": _rw(INT)},
)
_define(
    "ServerNetworkAdapter",
    {
        "nicId": _rw(STR),
        "macAddress": _rw(STR),
        "ipAddressList": _ro(Arr(STR)),
        "networkName": _rw(STR),
        "ipAddressType": _rw(STR),
    },
)
_define(
    "ServerDisk",
    {
        "id": _rw(STR),
        "generatedId": _rw(STR),
        "maxSizeInBytes": _rw(INT),  # the spec says int32 (see README.md)
        "name": _rw(STR),
        "diskType": _rw(STR),
        "lun": _rw(INT),
        "path": _rw(STR),
    },
)
_define(
    "HealthErrorDetails",
    {
        "message": _ro(STR),
        "messageParameters": _ro(Map(STR)),
        "applianceName": _ro(STR),
        "id": _ro(INT),
        "code": _ro(STR),
        "possibleCauses": _ro(STR),
        "recommendedAction": _ro(STR),
        "severity": _ro(STR),
        "summaryMessage": _ro(STR),
        "source": _ro(
            Enum_(
                "HealthErrorDetailsSource",
                frozenset(
                    {
                        "RefreshFabricLayout",
                        "RefreshFabricLayoutGuest",
                        "RefreshFabricLayoutDependencyMap",
                    }
                ),
            )
        ),
        "updatedTimeStamp": _ro(TIME),
        "runAsAccountId": _ro(STR),
        "discoveryScope": _ro(
            Enum_(
                "HealthErrorDetailsDiscoveryScope",
                frozenset(
                    {
                        "AppsAndRoles",
                        "DependencyMap",
                        "StaticData",
                        "SQLServerConnectionInfo",
                        "DiscoveryTargets",
                    }
                ),
            )
        ),
    },
)
_FREE_FORM = Any_()
_define(
    "ServerProperties",
    {
        "displayName": _ro(STR),
        "fqdn": _rw(STR),
        "networkAdapters": _rw(Arr(_ref("ServerNetworkAdapter"))),
        "hydratedFqdn": _rw(STR),
        "disks": _rw(Arr(_ref("ServerDisk"))),
        "validationRequired": _rw(STR),
        "processorInfo": _ro(_ref("ProcessorInfo")),
        "firmware": _rw(STR),
        "guestOsDetails": _ro(_ref("GuestOsDetails")),
        "numberOfApplications": _ro(INT),
        "guestDetailsDiscoveryTimestamp": _ro(TIME),
        "isGuestDetailsDiscoveryInProgress": _ro(BOOL),
        "dependencyMapping": _ro(STR),
        "dependencyMappingStartTime": _ro(TIME),
        "dependencyMappingEndTime": _ro(STR),
        "runAsAccountId": _rw(STR),
        "applianceNames": _ro(Arr(STR)),
        "errors": _ro(Arr(_ref("HealthErrorDetails"))),
        "applicationDiscovery": _ro(_FREE_FORM),
        "dependencyMapDiscovery": _ro(_FREE_FORM),
        "staticDiscovery": _ro(_FREE_FORM),
        "sqlDiscovery": _ro(_FREE_FORM),
        "webAppDiscovery": _ro(_FREE_FORM),
        "oracleDiscovery": _ro(_FREE_FORM),
        "springBootDiscovery": _ro(_FREE_FORM),
        "iisDiscovery": _ro(_FREE_FORM),
        "tomcatDiscovery": _ro(_FREE_FORM),
        "appsAndRoles": _ro(_FREE_FORM),
        "productSupportStatus": _rw(_FREE_FORM),
        "numberOfProcessorCore": _rw(INT),
        "allocatedMemoryInMb": _rw(NUM),
        "operatingSystemDetails": _rw(_ref("OperatingSystem")),
        "biosSerialNumber": _rw(STR),
        "biosGuid": _rw(STR),
        "isDeleted": _ro(BOOL),
        "createdTimestamp": _ro(STR),
        "tags": _rw(Map(Any_())),
        "updatedTimestamp": _ro(STR),
        "provisioningState": _ro(PROVISIONING_STATE),
    },
)
_define("Server", {**_PROXY, "properties": _rw(_ref("ServerProperties"))})
_define(
    "RunAsAccountProperties",
    {
        "displayName": _ro(STR),
        "credentialType": _ro(STR),
        "createdTimestamp": _ro(STR),
        "updatedTimestamp": _ro(STR),
        "applianceName": _ro(STR),
        "provisioningState": _ro(PROVISIONING_STATE),
    },
)
_define("ServerRunAsAccount", {**_PROXY, "properties": _rw(_ref("RunAsAccountProperties"))})
for _item in ("Server", "ServerRunAsAccount"):
    _define(
        f"{_item}ListResult",
        {"value": _rw(Arr(_ref(_item)), required=True), "nextLink": _rw(STR)},
    )


@dataclass(frozen=True)
class OffAzureOperation:
    """One OffAzure operation ec2asr calls."""

    name: str
    template: str
    query: frozenset[str]
    response: Obj

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{regex}$", re.IGNORECASE)


_SITE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.OffAzure/serverSites/{siteName}"
)
_BASE_QUERY = frozenset({"api-version"})
OPERATIONS = (
    OffAzureOperation("ServerSitesController_Get", _SITE, _BASE_QUERY, _ref("ServerSiteResource")),
    OffAzureOperation(
        "ServersController_ListByServerSiteResource",
        _SITE + "/machines",
        _BASE_QUERY | {"filter", "top", "continuationToken", "totalRecordCount"},
        _ref("ServerListResult"),
    ),
    OffAzureOperation(
        "ServersController_GetMachine",
        _SITE + "/machines/{machineName}",
        _BASE_QUERY,
        _ref("Server"),
    ),
    OffAzureOperation(
        "ServerRunAsAccountsController_ListByServerSiteResource",
        _SITE + "/runAsAccounts",
        _BASE_QUERY,
        _ref("ServerRunAsAccountListResult"),
    ),
    OffAzureOperation(
        "ServerRunAsAccountsController_Get",
        _SITE + "/runAsAccounts/{accountName}",
        _BASE_QUERY,
        _ref("ServerRunAsAccount"),
    ),
)


def find_offazure(method: str, path: str) -> OffAzureOperation | None:
    """The OffAzure operation a GET addresses (every one ec2asr calls is a GET)."""
    if method != "GET":
        return None
    for op in OPERATIONS:
        if op.pattern.match(path):
            return op
    return None


def definition(name: str) -> Obj:
    """A definition by its spec name (for tests)."""
    return _ref(name)
