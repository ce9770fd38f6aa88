"""The support-matrix data file, version matching, and ASR's live supported-OS answer."""

from __future__ import annotations

import copy
import importlib.resources
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ec2asr.assessment import (
    LiveMatch,
    MatchStatus,
    SupportedOs,
    SupportMatrix,
    load_support_matrix,
    match_live,
    supported_os_from_response,
)
from ec2asr.assessment.matrix import normalize_version
from ec2asr.errors import InvalidInputError
from tests.factories import make_os

# Body of Microsoft's SupportedOperatingSystems_Get.json example (azure-rest-api-specs,
# api-version 2025-08-01), plus an InMageRcm block of the same shape.
REST_BODY = {
    "name": "Default",
    "type": "Microsoft.RecoveryServices/vaults/replicationSupportedOperatingSystems",
    "id": "/Subscriptions/bc403605-c2b0-43dd-abe9-0162124b1ee1/resourceGroups/oneBoxRG/providers/"
    "Microsoft.RecoveryServices/vaults/oneBoxRSVault/replicationSupportedOperatingSystems/Default",
    "properties": {
        "supportedOsList": [
            {
                "instanceType": "A2A",
                "supportedOs": [
                    {"osName": "centos", "osType": "linux", "osVersions": [{"version": "6.0"}]},
                    {
                        "osName": "Windows Server 2008 R2 Datacenter",
                        "osType": "windows",
                        "osVersions": [{"servicePack": "1", "version": "6.1"}],
                    },
                ],
            },
            {
                "instanceType": "InMageRcm",
                "supportedOs": [
                    {
                        "osName": "Red Hat Enterprise Linux",
                        "osType": "linux",
                        "osVersions": [{"version": "8.6"}, {"version": "9.2"}],
                    },
                    {
                        "osName": "Windows Server 2008 R2 Datacenter",
                        "osType": "windows",
                        "osVersions": [{"servicePack": "1", "version": "6.1"}],
                    },
                ],
            },
        ]
    },
}


def raw_matrix():
    text = (
        importlib.resources.files("ec2asr.assessment")
        .joinpath("data/support_matrix.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


# -- the data file ------------------------------------------------------------------------------


def test_packaged_matrix_has_a_versioned_header_and_cites_sources():
    data = raw_matrix()
    assert data["schema"] == "ec2asr.support-matrix/1"
    assert data["version"]
    assert data["updated"]
    assert data["provider"] == "InMageRcm"
    for entry in data["entries"]:
        assert entry["source"] in data["sources"], entry["name"]
    assert all("learn.microsoft.com" in url for url in data["sources"].values())


def test_loader_is_cached_and_immutable():
    assert load_support_matrix() is load_support_matrix()


def test_seed_2017_subset_is_exactly_the_2017_list():
    seed = load_support_matrix().seed_2017()
    pairs = {(e.distribution, v) for e in seed.entries for v in e.versions}
    assert pairs == {
        ("windows", "2008 R2 SP1"),
        ("windows", "2012"),
        ("windows", "2012 R2"),
        ("rhel", "6.7"),
    }
    assert seed.limits == load_support_matrix().limits


@pytest.mark.parametrize(
    ("distribution", "lowest", "highest"),
    [
        ("windows", "2008 R2 SP1", "2022"),
        ("rhel", "6.1", "9.0"),
        ("centos", "6.1", "8.0"),
        ("oracle", "6.4", "9.0"),
        ("ubuntu", "14.04", "22.04"),
        ("debian", "7", "11"),
        ("sles", "11 SP3", "15"),
    ],
)
def test_matrix_covers_the_documented_ranges(distribution, lowest, highest):
    matrix = load_support_matrix()
    for version in (lowest, highest):
        assert matrix.match(distribution, version).status is MatchStatus.SUPPORTED


def test_sles_11_sp3_and_sp4_and_12_and_15():
    matrix = load_support_matrix()
    for v in ("11 SP3", "11 SP4", "12 SP1", "12 SP5", "15", "15 SP5"):
        assert matrix.match("sles", v).status is MatchStatus.SUPPORTED, v


def test_unknown_distribution_and_unknown_key():
    matrix = load_support_matrix()
    assert matrix.match(None, "1").status is MatchStatus.UNKNOWN
    assert matrix.match("freebsd", "13").status is MatchStatus.UNSUPPORTED


def test_point_releases_only_where_the_matrix_allows_them():
    matrix = load_support_matrix()
    assert matrix.match("ubuntu", "22.04.3").status is MatchStatus.SUPPORTED
    assert matrix.match("rhel", "8.6.1").status is MatchStatus.UNSUPPORTED


def test_wrong_schema_is_refused():
    data = raw_matrix()
    data["schema"] = "something/2"
    with pytest.raises(InvalidInputError, match="schema"):
        SupportMatrix.from_dict(data)


def test_malformed_entry_is_refused():
    data = copy.deepcopy(raw_matrix())
    del data["entries"][0]["versions"]
    with pytest.raises(InvalidInputError, match="malformed"):
        SupportMatrix.from_dict(data)


def test_refreshed_file_can_be_loaded(tmp_path):
    data = raw_matrix()
    data["version"] = "2099.01.01"
    data["entries"].append(
        {"distribution": "debian", "name": "Debian 13", "versions": ["13"], "point_releases": True}
    )
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    matrix = SupportMatrix.from_file(path)
    assert matrix.version == "2099.01.01"
    assert matrix.match("debian", "13.1").status is MatchStatus.SUPPORTED


def test_unreadable_file_is_an_input_error(tmp_path):
    with pytest.raises(InvalidInputError, match="cannot read"):
        SupportMatrix.from_file(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("2008r2 sp1", "2008 R2 SP1"),
        ("2008 R2 Service Pack 1", "2008 R2 SP1"),
        ("15-sp4", "15 SP4"),
        ("15SP4", "15 SP4"),
        (" 8.6 ", "8.6"),
    ],
)
def test_normalize_version(raw, normal):
    assert normalize_version(raw) == normal


@given(
    st.sampled_from(load_support_matrix().entries).flatmap(lambda e: st.sampled_from(e.versions))
)
def test_every_listed_version_matches_itself_and_its_lowercase(version):
    matrix = load_support_matrix()
    distribution = next(e.distribution for e in matrix.entries if version in e.versions)
    assert matrix.match(distribution, version).status is MatchStatus.SUPPORTED
    assert matrix.match(distribution, version.lower()).status is MatchStatus.SUPPORTED


# -- live answer --------------------------------------------------------------------------------


def test_rest_body_is_flattened_for_inmage_rcm_only():
    found = supported_os_from_response(REST_BODY)
    assert found == (
        SupportedOs("linux", "Red Hat Enterprise Linux", ("8.6", "9.2")),
        SupportedOs("windows", "Windows Server 2008 R2 Datacenter", ("6.1 SP1",)),
    )
    assert supported_os_from_response(REST_BODY, instance_type="A2A")[0] == SupportedOs(
        "linux", "centos", ("6.0",)
    )


def test_sdk_model_is_read_like_the_rest_body():
    from azure.mgmt.recoveryservicessiterecovery.models import SupportedOperatingSystems

    model = SupportedOperatingSystems(REST_BODY)
    assert supported_os_from_response(model) == supported_os_from_response(REST_BODY)
    details = model.properties.supported_os_list[1].supported_os[1]
    assert SupportedOs.from_azure(details).versions == ("6.1 SP1",)


def test_empty_answer_gives_nothing():
    assert supported_os_from_response({"properties": {}}) == ()


@pytest.mark.parametrize(
    ("distribution", "version", "expected"),
    [
        ("rhel", "8.6", LiveMatch.LISTED),
        ("rhel", "8.4", LiveMatch.NOT_LISTED),
        ("ubuntu", "20.04", LiveMatch.NOT_LISTED),
        ("windows", "2008 R2 SP1", LiveMatch.LISTED),
        ("windows", "2012", LiveMatch.NOT_LISTED),
        (None, None, LiveMatch.UNKNOWN),
    ],
)
def test_match_live(distribution, version, expected):
    supported = supported_os_from_response(REST_BODY)
    assert match_live(make_os(distribution, version), supported) is expected


def test_windows_entry_without_release_in_its_name_matches_by_nt_version():
    supported = (SupportedOs("windows", "Windows Server", ("6.3",)),)
    assert match_live(make_os("windows", "2012 R2"), supported) is LiveMatch.LISTED
    assert match_live(make_os("windows", "2012"), supported) is LiveMatch.NOT_LISTED


def test_linux_entry_without_versions_lists_the_distribution():
    supported = (SupportedOs("linux", "Oracle Linux"),)
    assert match_live(make_os("oracle", "8.6"), supported) is LiveMatch.LISTED
