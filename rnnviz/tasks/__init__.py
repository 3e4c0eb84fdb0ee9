"""Small learning tasks for the course: selective copying (synthetic, made on the fly) and a
character-level language model on the shipped text, with a short training loop."""
from .char_lm import CharBatch, CharDataset, load_text
from .model import SequenceModel
from .selective_copying import CopyBatch, selective_copying
from .train import TrainResult, copy_loss, lm_loss, train, train_char_lm, train_selective_copying

__all__ = ["selective_copying", "CopyBatch", "CharDataset", "CharBatch", "load_text",
           "SequenceModel", "train", "TrainResult", "train_char_lm", "train_selective_copying",
           "lm_loss", "copy_loss"]
