"""Networks of VLT: the SPOS supernet backbone, ModaMixer, the VLT network and the SiamCAR head."""
from vlt_mini.models.choice_blocks import CHOICE_NAMES, NUM_CHOICES, ShuffleBlock, XceptionBlock
from vlt_mini.models.choice_blocks import channel_split, make_choice_block
from vlt_mini.models.supernet import NUM_CHOICE_LAYERS, SPOS_IMAGENET_PATH, SPOS_INPUT_CONVENTION
from vlt_mini.models.supernet import STAGE_LAYER_RANGES, STAGE_REPEATS
from vlt_mini.models.supernet import SPOSSupernet, SupernetConfig, load_spos_checkpoint, spos_preprocess
from vlt_mini.models.supernet import check_path, count_macs, count_parameters, parse_path, path_to_str, sample_path
from vlt_mini.models.head import HeadConfig, HeadOutput, SiamCARHead, SiamCARNeck, xcorr_depthwise, feature_map_size
from vlt_mini.models.modamixer import LANGUAGE_MODES, ModaMixer, TemplateToken, roi_align
from vlt_mini.models.candidate import NUM_GENES, VLT_SCAR_CANDIDATE, Candidate
from vlt_mini.models.vlt import TemplateState, VLTConfig, VLTNet, count_vlt_macs, count_vlt_parameters
