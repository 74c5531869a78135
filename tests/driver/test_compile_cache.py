"""driver.compile_cache: where XLA's persistent compilation cache goes, and how it is switched off (fast)."""

from aiida_grace.driver import compile_cache


def test_the_folder_is_created_and_named_in_tf_xla_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("AIIDA_GRACE_XLA_CACHE", str(tmp_path / "xla"))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    assert compile_cache.enable() == str(tmp_path / "xla")
    assert (tmp_path / "xla").is_dir()
    assert compile_cache.FLAG + "=" + str(tmp_path / "xla") in compile_cache.os.environ["TF_XLA_FLAGS"]
    assert compile_cache.os.environ["TF_XLA_FLAGS"].startswith("--tf_xla_auto_jit=0 ")


def test_default_folder_under_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("AIIDA_GRACE_XLA_CACHE", raising=False)
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.enable() == str(tmp_path / "aiida-grace" / "xla")


def test_an_empty_setting_or_a_cache_already_named_leaves_the_flags_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("AIIDA_GRACE_XLA_CACHE", "")
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    assert compile_cache.enable() is None and "TF_XLA_FLAGS" not in compile_cache.os.environ
    monkeypatch.setenv("AIIDA_GRACE_XLA_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("TF_XLA_FLAGS", f"{compile_cache.FLAG}=/elsewhere")
    assert compile_cache.enable() is None and not (tmp_path / "mine").exists()
