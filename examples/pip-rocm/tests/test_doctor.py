from demo import doctor


def test_this_machine_has_a_build_and_macos_on_intel_has_none():
    assert doctor.expected_builds()
    assert doctor.expected_builds("darwin", "x86_64") == ()


def test_a_rocm_build_matches_its_index_variant():
    assert doctor.matches("rocm7.1.25424", "rocm7.1")
    assert not doctor.matches("cu130", "cpu")


def test_doctor_reports_the_installed_build(capsys):
    doctor.main()
    assert doctor.installed_build() in capsys.readouterr().out


def test_a_gpu_build_without_a_gpu_is_a_warning_that_names_the_driver(monkeypatch):
    monkeypatch.setattr(doctor, "installed_build", lambda: "cu130")
    monkeypatch.setattr(doctor.torch.version, "cuda", "13.0")
    monkeypatch.setitem(doctor.MINIMUM_DRIVERS, doctor.installed_build(), "580.65.06")
    warning = doctor.gpu_warning(None)
    assert "finds no usable GPU" in warning and "driver >= 580.65.06" in warning
    assert doctor.gpu_warning(doctor.torch.device("cuda")) == ""
