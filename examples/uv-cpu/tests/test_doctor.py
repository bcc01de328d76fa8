from demo import doctor


def test_this_machine_has_a_build_and_macos_on_intel_has_none():
    assert doctor.expected_builds()
    assert doctor.expected_builds("darwin", "x86_64") == ()


def test_a_rocm_build_matches_its_index_variant():
    assert doctor.matches("rocm7.1.25424-ce88e2bd3b", "rocm7.1")
    assert doctor.matches("rocm6.2.41134-65d174c3e", "rocm6.2.4")
    assert not doctor.matches("rocm7.14.0", "rocm7.1")
    assert not doctor.matches("rocm7.1.25424", "rocm7.14")
    assert not doctor.matches("cu130", "cpu") and doctor.matches("cu130", "cu130")


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


# torch 2.13.0+cu130's architectures: CUDA 13 builds start at Turing (compute capability 7.5).
CUDA_13_ARCHES = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_110", "sm_120", "compute_120"]


def test_a_build_runs_on_its_architectures_later_minors_and_newer_gpus_through_ptx():
    assert not doctor.runs_on((6, 1), CUDA_13_ARCHES)  # Pascal
    assert not doctor.runs_on((7, 0), CUDA_13_ARCHES)  # Volta
    assert doctor.runs_on((7, 5), CUDA_13_ARCHES) and doctor.runs_on((8, 9), CUDA_13_ARCHES)
    assert doctor.runs_on((12, 1), ["sm_120"]) and doctor.runs_on((13, 0), ["compute_120"])
    assert not doctor.runs_on((10, 0), ["sm_90a"]) and doctor.runs_on((6, 1), ["sm_60"])


def stand_in_gpu(monkeypatch, capability, arch_list, build="cu130"):
    """torch.cuda as on a machine with one GPU of this capability and a build with these
    architectures."""
    cuda = doctor.torch.cuda
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda, "device_count", lambda: 1)
    monkeypatch.setattr(cuda, "get_device_capability", lambda index=None: capability)
    monkeypatch.setattr(cuda, "get_device_name", lambda index=None: "NVIDIA GeForce GTX 1080")
    monkeypatch.setattr(cuda, "get_arch_list", lambda: arch_list)
    monkeypatch.setattr(doctor.torch.version, "hip", None)
    monkeypatch.setattr(doctor, "installed_build", lambda: build)
    monkeypatch.setattr(doctor, "problems", lambda: [])  # the configured build otherwise


def test_a_pascal_gpu_with_a_cuda_13_build_fails_and_names_a_build_that_runs_it(
    monkeypatch, capsys
):
    stand_in_gpu(monkeypatch, (6, 1), CUDA_13_ARCHES)
    assert doctor.main() == 1
    error = capsys.readouterr().err
    assert "no kernels for the GPU NVIDIA GeForce GTX 1080 (compute capability 6.1" in error
    fix = doctor.gpu_fix((6, 1))
    assert f"Take a build that runs it: {doctor.UPDATE} {fix}, then " in error
    variant = fix.split("torch_backend=")[1]
    assert variant.startswith("cu1") and not variant.startswith("cu13")  # a CUDA 12 build


def test_a_turing_gpu_with_a_cuda_13_build_passes(monkeypatch, capsys):
    stand_in_gpu(monkeypatch, (7, 5), CUDA_13_ARCHES)
    assert doctor.main() == 0
    assert "no kernels" not in capsys.readouterr().err


def test_without_torch_the_doctor_names_the_install_command(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "torch", None)
    assert doctor.main() == 1
    error = capsys.readouterr().err
    assert "torch is not installed" in error
    for variant, command in doctor.INSTALL.items():
        assert f"  {command}  # the {variant} build" in error


def test_the_advice_is_what_torch_backend_auto_answers_on_this_machine(monkeypatch):
    drivers = doctor.OFFER.cuda_drivers
    if drivers:
        newest = list(drivers)[-1]
        found = doctor.machine.Machine(nvidia_driver=drivers[newest])
        monkeypatch.setattr(doctor.machine, "probe", lambda: found)
        expected = f"this machine would take {doctor.OFFER.recommended_cuda}: "
        assert doctor.advice().startswith(expected)
    monkeypatch.setattr(doctor.machine, "probe", lambda: doctor.machine.Machine())
    assert doctor.advice() == "this machine would take cpu: no NVIDIA, AMD or Intel GPU found"
