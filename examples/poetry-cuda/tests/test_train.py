from demo.train import main, train


def test_training_reduces_the_loss():
    losses = train(epochs=5, device="cpu")["losses"]
    assert losses[-1] < losses[0] / 2


def test_training_is_reproducible_with_a_seed():
    assert train(epochs=2, seed=3, device="cpu") == train(epochs=2, seed=3, device="cpu")


def test_main_writes_the_losses(tmp_path):
    output = tmp_path / "out" / "losses.json"
    main(["--epochs", "1", "--device", "cpu", "--output", str(output)])
    assert '"losses"' in output.read_text()
