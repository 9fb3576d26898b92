"""The pytest plugin (entry point pytest11): a user's own checks in a few lines, tested with pytest's pytester."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.mark.qemu
def test_fixtures_marker_and_the_report_on_failure(pytester):
    pytester.makepyfile("""
        import pytest

        def test_runner(bootgen_run):
            run = bootgen_run(backend="qemu", cpu="EPYC")
            assert run.verdict == "svm-ready" and run.ready and run.exit_status == 0
            assert run.doc["run"]["cpu"] == "EPYC"

        @pytest.mark.bootgen(backend="qemu", cpu="Skylake-Client")
        def test_intel_model(bootgen_result):
            assert bootgen_result.ready, bootgen_result.reason

        def test_a_usage_error_fails_the_test(bootgen_run):
            bootgen_run(backend="qemu", cpu="NoSuchModel")

        def test_marker_missing(bootgen_result):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    out = result.stdout.str()
    # The failing run's report is attached to the test's output, under the command that made it.
    assert "bootgen run --backend qemu --cpu Skylake-Client" in out and "verdict: no-vmx" in out
    assert "unknown QEMU CPU model 'NoSuchModel'" in out
    assert "needs a @pytest.mark.bootgen(...) marker" in out


def test_the_plugin_is_registered_by_its_entry_point(pytester):
    result = pytester.runpytest_subprocess("--markers")
    assert "@pytest.mark.bootgen(**options)" in result.stdout.str()
    result = pytester.runpytest_subprocess("-p", "no:bootgen", "--markers")
    assert "@pytest.mark.bootgen" not in result.stdout.str()
