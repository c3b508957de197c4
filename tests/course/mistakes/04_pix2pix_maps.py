"""Mistakes students make in notebook 4 (full Pix2Pix on maps), and the test cells that must catch
them.

Format: see tests/test_mistakes.py. ``find`` must occur exactly once in the named solution
cell of the solution notebook; ``fails`` lists EXACTLY the test cells that lose points.

The two test cells of ``train_pix2pix`` split the grading: ``test_train_pix2pix_loop`` checks
the loop's bookkeeping (steps, epochs, lr schedule, train mode, mixed precision passed on),
``test_train_pix2pix_reference`` compares a whole 5-step run, parameters and history, with a
reference loop from the same initial weights and batches (and names the matching mistake when
it recognises one). The two test cells of ``evaluate_split`` split it into the numbers (vs
``course_utils.evaluation.evaluate.evaluate`` on shared weights) and the modes (eval mode, no
gradients, mode restored).

``HARMLESS`` lists correct variants that must keep full marks.
"""

NOTEBOOK = "solutions/04_pix2pix_maps/04_pix2pix_maps.ipynb"

MISTAKES = [
    # --- train_pix2pix -------------------------------------------------------------------------
    dict(
        id="adam-default-betas",
        cell="train_pix2pix",
        find="betas = (beta1, 0.999)",
        replace="betas = (0.9, 0.999)",
        fails=["test_train_pix2pix_reference"],
    ),
    dict(
        id="schedulers-never-stepped",
        cell="train_pix2pix",
        find="        schedG.step()\n        schedD.step()\n",
        replace="",
        fails=["test_train_pix2pix_loop", "test_train_pix2pix_reference"],
    ),
    dict(
        id="schedulers-stepped-before-the-update",
        cell="train_pix2pix",
        find=(
            '        history["lr"].append(optG.param_groups[0]["lr"])\n'
            "        losses = train_step(netG, netD, optG, optD, real_A, real_B, "
            "lambda_L1=lambda_L1,\n"
            "                            autocast=autocast, scalers=scalers)\n"
            "        for key in LOSS_KEYS:\n"
            "            history[key].append(losses[key])\n"
            "        schedG.step()\n"
            "        schedD.step()\n"
        ),
        replace=(
            "        schedG.step()\n"
            "        schedD.step()\n"
            '        history["lr"].append(optG.param_groups[0]["lr"])\n'
            "        losses = train_step(netG, netD, optG, optD, real_A, real_B, "
            "lambda_L1=lambda_L1,\n"
            "                            autocast=autocast, scalers=scalers)\n"
            "        for key in LOSS_KEYS:\n"
            "            history[key].append(losses[key])\n"
        ),
        fails=["test_train_pix2pix_loop", "test_train_pix2pix_reference"],
    ),
    dict(
        id="real-A-and-B-swapped",
        cell="train_pix2pix",
        find='real_A = batch["real_A"].to(device)\n        real_B = batch["real_B"].to(device)',
        replace='real_A = batch["real_B"].to(device)\n        real_B = batch["real_A"].to(device)',
        fails=["test_train_pix2pix_reference"],
    ),
    dict(
        id="networks-not-put-in-train-mode",
        cell="train_pix2pix",
        find="    netG.train()\n    netD.train()\n",
        replace="",
        fails=["test_train_pix2pix_loop", "test_train_pix2pix_reference"],
    ),
    dict(
        id="stops-after-one-epoch",
        cell="train_pix2pix",
        find="batches = iter(train_loader)\n            batch = next(batches)",
        replace="break",
        fails=["test_train_pix2pix_loop", "test_train_pix2pix_reference"],
    ),
    dict(
        id="lambda-not-passed-to-train-step",
        cell="train_pix2pix",
        find="lambda_L1=lambda_L1,",
        replace="",
        fails=["test_train_pix2pix_reference"],
    ),
    dict(
        id="replays-the-first-epoch",
        cell="train_pix2pix",
        find="    batches = iter(train_loader)\n    start = time.time()",
        replace="    import itertools\n"
        "    batches = itertools.cycle(train_loader)  # never runs out...\n"
        "    start = time.time()",
        fails=["test_train_pix2pix_loop"],
    ),
    dict(
        id="batches-not-moved-to-device",
        cell="train_pix2pix",
        find='real_A = batch["real_A"].to(device)\n        real_B = batch["real_B"].to(device)',
        replace='real_A = batch["real_A"]\n        real_B = batch["real_B"]',
        fails=["test_train_pix2pix_loop"],
    ),
    dict(
        id="netD-scheduler-never-stepped",
        cell="train_pix2pix",
        find="        schedG.step()\n        schedD.step()\n",
        replace="        schedG.step()\n",
        fails=["test_train_pix2pix_reference"],
    ),
    # --- evaluate_split ------------------------------------------------------------------------
    dict(
        id="generator-not-in-eval-mode",
        cell="evaluate_split",
        find="netG.eval()",
        replace="pass",
        fails=["test_evaluate_split", "test_evaluate_split_modes"],
    ),
    dict(
        id="mode-not-restored",
        cell="evaluate_split",
        find="netG.train(was_training)",
        replace="pass",
        fails=["test_evaluate_split_modes"],
    ),
    dict(
        id="no-torch-no-grad",
        cell="evaluate_split",
        find="with torch.no_grad():",
        replace="if True:",
        fails=["test_evaluate_split_modes"],
    ),
    dict(
        id="mean-of-batch-means",
        cell="evaluate_split",
        find="float(np.concatenate(values).mean())",
        replace="float(np.mean([v.mean() for v in values]))",
        fails=["test_evaluate_split"],
    ),
    dict(
        id="evaluates-the-training-set",
        cell="evaluate_split",
        find="DataLoader(split_dataset,",
        replace="DataLoader(train_set,",
        fails=["test_evaluate_split"],
    ),
    dict(
        id="compares-with-the-input",
        cell="evaluate_split",
        find='to_uint8(batch["real_B"])',
        replace='to_uint8(batch["real_A"])',
        fails=["test_evaluate_split"],
    ),
]

HARMLESS = [
    dict(
        id="for-loop-over-epochs",
        cell="train_pix2pix",
        find="        try:\n            batch = next(batches)\n"
        "        except StopIteration:  # end of an epoch: start the next one\n"
        "            batches = iter(train_loader)\n            batch = next(batches)\n",
        replace="        batch = next(batches, None)\n"
        "        if batch is None:  # end of an epoch\n"
        "            batches = iter(train_loader)\n            batch = next(batches)\n",
    ),
    dict(
        id="moves-the-batch-with-a-dict-comprehension",
        cell="train_pix2pix",
        find='real_A = batch["real_A"].to(device)\n        real_B = batch["real_B"].to(device)',
        replace="batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}\n"
        '        real_A, real_B = batch["real_A"], batch["real_B"]',
    ),
]
